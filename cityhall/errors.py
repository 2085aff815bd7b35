"""Domain errors; the API maps each to an HTTP status with FastAPI's error body shape."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can cause; `code` is machine-readable, `loc` names the field."""

    status_code = 400

    def __init__(self, code: str, message: str, *, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.loc = loc


class NotFoundError(DomainError):
    """The referenced entity does not exist."""

    status_code = 404


class ConflictError(DomainError):
    """The request conflicts with the entity's current state (e.g. closing a closed ticket)."""

    status_code = 409


class InvalidInputError(DomainError):
    """Input that passed schema validation but breaks a domain rule."""

    status_code = 422
