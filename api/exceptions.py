"""API-level errors and the handlers that render every error in FastAPI's body shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from cityhall.errors import DomainError


class NotAuthenticatedError(DomainError):
    """No credentials, or credentials that do not identify an active principal."""

    status_code = 401


class PermissionDeniedError(DomainError):
    """The principal is known but its role does not admit the request."""

    status_code = 403


def error_body(error: DomainError) -> dict[str, Any]:
    """FastAPI's error body for a domain error; `loc` only when the error names a field."""
    item: dict[str, Any] = {"msg": error.message, "type": error.code}
    if error.loc:
        item["loc"] = list(error.loc)
    return {"detail": [item]}


async def domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Map a DomainError to its status; 401 responses name the Bearer scheme."""
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(error_body(exc), status_code=exc.status_code, headers=headers)


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body without the `input` echo, so a rejected password is never sent back."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for validation errors only
    detail = [{"msg": e["msg"], "type": e["type"], "loc": list(e["loc"])} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
