"""Human ratings: a small web app where raters score responses on the rubric, and agreement from their ratings.

``db`` holds the SQLite store (WAL), ``items`` reads run directories and ``judge score`` files, ``app`` is the
FastAPI app, ``agreement`` compares raters with each other and with judges, ``cli`` the ``psychosafe rate``
commands.
"""
