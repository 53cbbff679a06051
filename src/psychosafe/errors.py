"""Errors a user can cause: one clear line, exit code 2, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad file, bad config, missing model, ...).

    The message names what is wrong and how to fix it; the CLI prints it on one
    line and exits with code 2.
    """

    exit_code = 2
