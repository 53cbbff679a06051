"""psychosafe: supportive, psychologically-informed refusals for language models."""

__version__ = "0.1.0"
