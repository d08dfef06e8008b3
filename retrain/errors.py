"""The one error type the CLI shows to staff as a plain message (no traceback)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a state the user must fix; the message says what and how."""
