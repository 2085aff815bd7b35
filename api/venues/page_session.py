"""Sign-in for the server-rendered pages: the bearer token of /auth/token, kept in a cookie.

The JSON API never reads this cookie (it wants the Authorization header), so the cookie can only act on the
page routes; every page form that changes something also carries a CSRF token bound to the session
(HMAC of the token with the app's secret), and the cookie is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request, status

from api.deps import Principal, RoleGate, SessionDep, SettingsDep, user_from_token
from api.exceptions import NotAuthenticatedError, PermissionDeniedError
from cityhall.models import Role
from cityhall.settings import Settings

SESSION_COOKIE = "cityhall_pages"
SIGN_IN_PATH = "/venues/sign-in"


def safe_next(target: str | None, default: str = "/venues/book") -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _sign_in_redirect(request: Request) -> HTTPException:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status_code=status.HTTP_303_SEE_OTHER,
        detail="sign in first",
        headers={"Location": f"{SIGN_IN_PATH}?next={quote(here, safe='/')}"},
    )


def page_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The signed-in person from the page cookie; without one, a redirect to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            return user_from_token(session, settings, token)
        except NotAuthenticatedError:
            pass  # expired or revoked: sign in again
    raise _sign_in_redirect(request)


PagePrincipal = Annotated[Principal, Depends(page_principal)]


@dataclass(frozen=True, slots=True)
class PageRoleGate(RoleGate):
    """`require_roles` for pages: the caller comes from the page cookie instead of the bearer header."""

    def __call__(self, principal: PagePrincipal) -> Principal:
        """Return the caller when its role is admitted; 403 otherwise."""
        if principal.role is Role.ADMIN or principal.role in self.roles:
            return principal
        raise PermissionDeniedError("forbidden", f"role {principal.role.value} may not open this page")


def page_roles(*roles: Role) -> PageRoleGate:
    """A page dependency admitting the given roles (and admin)."""
    return PageRoleGate(frozenset(roles))


def csrf_token(settings: Settings, session_token: str) -> str:
    """The form token bound to a page session."""
    key = settings.jwt_secret.get_secret_value().encode()
    return hmac.new(key, b"page-csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_for(request: Request, settings: Settings) -> str:
    """The CSRF token to put in the page's forms."""
    return csrf_token(settings, request.cookies.get(SESSION_COOKIE, ""))


def check_csrf(request: Request, settings: SettingsDep, csrf: Annotated[str, Form()] = "") -> None:
    """Refuse a page form whose CSRF token does not belong to the caller's session (403)."""
    if not hmac.compare_digest(csrf, csrf_for(request, settings)):
        raise PermissionDeniedError("csrf_failed", "the form has expired; reload the page and try again")


CheckedForm = Depends(check_csrf)
