"""Domain errors: what the services raise when a use case cannot go ahead.

Services know nothing of HTTP; each error class carries the status that both front doors answer
with, so the JSON API (`{"message", "detail"}`) and the pages (an HTML error page) agree on it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base class. `message` is one line for a person; `detail` optional structured data."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = message if detail is None else detail


class Invalid(DomainError):
    """The request names a field with a bad value (a run config, run ids, a sort key …)."""

    status_code = 422
    title = "Invalid request"


class NotFound(DomainError):
    """A run, experiment or share link that does not exist (or no longer works)."""

    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    """The request does not fit the current state (e.g. cancelling a run that already finished)."""

    status_code = 409
    title = "Conflict"


class Unauthorized(DomainError):
    """No valid credentials: a wrong password, an unknown or revoked token, a disabled account."""

    status_code = 401
    title = "Login required"


class Forbidden(DomainError):
    """The caller is known but may not do this (their role, or not their run or link)."""

    status_code = 403
    title = "Forbidden"


class Unavailable(DomainError):
    """A service the use case needs (the broker, the database) cannot be reached right now."""

    status_code = 503
    title = "Service unavailable"
