"""Statistics: agreement between raters and judges, and comparisons between conditions."""
