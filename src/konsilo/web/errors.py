"""Errors that actions raise and the edges (API, pages, CLI) turn into clear answers."""

from __future__ import annotations

from konsilo.governance.errors import GovernanceError


class KonsiloError(Exception):
    """A refused request: a code for programs, a message for people, the field at fault."""

    status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code

    def as_dict(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}

    @classmethod
    def from_governance(cls, exc: GovernanceError) -> KonsiloError:
        """The core's refusal, with the field named in the message as well."""
        message = exc.message
        if exc.field and exc.field not in message:
            message = f"{exc.field}: {message}"
        return InvalidInputError(message, field=exc.field, code=exc.code)


class InvalidInputError(KonsiloError):
    status = 400


class NotFoundError(KonsiloError):
    status = 404
    default_code = "not_found"


class PermissionDeniedError(KonsiloError):
    status = 403
    default_code = "forbidden"


class ConflictError(KonsiloError):
    status = 409
    default_code = "conflict"
