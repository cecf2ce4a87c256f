"""Errors that the CLI reports as one clear line (no traceback unless --debug)."""


class KeiseiError(Exception):
    """A usage, config or input error with a message meant for the user."""
