"""Request-scoped dependencies: the database session, settings, the caller, and role checks.

Deny by default: every route depends on `require_roles(...)` or on `public`; a test walks the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.exceptions import NotAuthenticatedError, PermissionDeniedError
from cityhall.errors import InvalidInputError
from cityhall.models import ApiKey, Role, User
from cityhall.security import InvalidTokenError, api_key_prefix, decode_access_token, digest_matches
from cityhall.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the route returns, roll back when it raises."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


# scope="function": commit before the response is sent, so a failed commit is a 500, not a lost write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user or a service holding an API key."""

    kind: Literal["user", "api_key"]
    id: int
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """The name written to the audit log, e.g. `user:alice` or `apikey:collector`."""
        return f"user:{self.name}" if self.kind == "user" else f"apikey:{self.name}"

    @property
    def user_id(self) -> int | None:
        """The user's id, or None for a service."""
        return self.id if self.kind == "user" else None


def user_from_token(session: Session, settings: Settings, token: str) -> Principal:
    """The active user a bearer token names; NotAuthenticatedError otherwise (pages reuse it for cookies)."""
    try:
        claims = decode_access_token(token, secret=settings.jwt_secret.get_secret_value())
    except InvalidTokenError as err:
        raise NotAuthenticatedError("invalid_token", "the access token is invalid or expired") from err
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as err:
        raise NotAuthenticatedError("invalid_token", "the access token names no user") from err
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticatedError("invalid_token", "the access token's user is unknown or inactive")
    # The role comes from the database, not the token, so a demotion takes effect at once.
    return Principal(kind="user", id=user.id, name=user.username, role=user.role)


def _service_from_key(session: Session, key: str) -> Principal:
    prefix = api_key_prefix(key)
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none() if prefix else None
    if row is None or not digest_matches(row.key_sha256, key):
        raise NotAuthenticatedError("invalid_api_key", "the API key is not valid")
    if row.revoked_at is not None:
        raise NotAuthenticatedError("revoked_api_key", "the API key has been revoked")
    return Principal(kind="api_key", id=row.id, name=row.name, role=row.role)


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """Authenticate from `Authorization: Bearer <jwt>` or `X-API-Key: cho_...`; 401 otherwise."""
    if token:
        return user_from_token(session, settings, token)
    if api_key:
        return _service_from_key(session, api_key)
    raise NotAuthenticatedError("not_authenticated", "sign in with a bearer token or send an X-API-Key")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class RoleGate:
    """A dependency admitting the listed roles (and admin); 403 for any other signed-in caller."""

    roles: frozenset[Role]

    def __call__(self, principal: CurrentPrincipal) -> Principal:
        """Return the caller when its role is admitted."""
        if principal.role is Role.ADMIN or principal.role in self.roles:
            return principal
        admitted = ", ".join(sorted(r.value for r in self.roles | {Role.ADMIN}))
        raise PermissionDeniedError(
            "forbidden", f"role {principal.role.value} may not do this (admitted: {admitted})"
        )


def require_roles(*roles: Role) -> RoleGate:
    """A dependency that admits the given roles; admin is admitted everywhere."""
    return RoleGate(frozenset(roles))


def public() -> None:
    """Marks a route as deliberately open to anonymous callers."""


PublicRoute = Depends(public)


def _gates(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _gates(sub)


def route_access(route: APIRoute) -> frozenset[Role] | Literal["public"] | None:
    """The roles a route admits, "public", or None when it declares neither (a deny-by-default breach)."""
    roles: set[Role] = set()
    found = False
    for call in _gates(route.dependant):
        if call is public:
            return "public"
        if isinstance(call, RoleGate):
            found = True
            roles |= call.roles
    return frozenset(roles | {Role.ADMIN}) if found else None


MAX_CSV_BYTES = 2_000_000
CSV_REQUEST_BODY = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}


async def csv_text(request: Request) -> str:
    """The body of a CSV upload (`Content-Type: text/csv`), at most 2 MB of UTF-8 (a BOM is allowed)."""
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInputError("file_too_large", "at most 2 MB per file", loc=("body", "file"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInputError("not_utf8", "the file must be UTF-8 text", loc=("body", "file")) from err


CsvText = Annotated[str, Depends(csv_text)]
