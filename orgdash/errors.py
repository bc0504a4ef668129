"""Domain errors: what services raise when a request cannot be carried out.

Each has a machine ``code`` and a human ``message``; they know nothing about HTTP. The API maps
them to status codes in one place (``orgdash.api.errors.exception_handler``); pages and commands
show the message.
"""


class DomainError(Exception):
    code = "invalid"
    default_message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, code: str | None = None):
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)


class InvalidInput(DomainError):
    """Bad input; ``errors`` names the fields: ``{"field": ["message", ...]}``."""

    code = "invalid"
    default_message = "Invalid input."

    def __init__(self, message: str | None = None, *, errors: dict[str, list[str]] | None = None, code=None):
        self.errors = errors or {"non_field_errors": [message or self.default_message]}
        first = next((messages[0] for messages in self.errors.values() if messages), None)
        super().__init__(message or first, code=code)


class NotFound(DomainError):
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. removing the last admin)."""

    code = "conflict"
    default_message = "The request conflicts with the current state."
