"""Errors a person can cause, with messages written for that person."""


class NnstudioError(Exception):
    """A problem the user can fix (bad file, invalid setting, missing step).

    The GUI shows the message in the panel's message area; the CLI prints it as one line on
    stderr and exits with status 1. Anything that is not an NnstudioError is a bug.
    """

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class Cancelled(NnstudioError):
    """Raised by long jobs when their task's stop event is set before any result exists."""

    def __init__(self, message: str = "Cancelled."):
        super().__init__(message)
