"""Accounts and service keys; every write is audited."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.users.schemas import ApiKeyCreate, UserCreate, UserUpdate
from cityhall.accounts import create_user
from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, NotFoundError
from cityhall.models import ApiKey, User
from cityhall.security import hash_password, new_api_key


def list_query() -> Select[User]:
    """All users by username."""
    return select(User).order_by(User.username)


def get(*, session: Session, user_id: int) -> User:
    """A user by id, or 404."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("user_not_found", f"no user {user_id}", loc=("path", "user_id"))
    return user


def create(*, session: Session, data: UserCreate, actor: str) -> User:
    """Create an account; 409 when the username is taken."""
    return create_user(
        session,
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        role=data.role,
        password=data.password,
        actor=actor,
    )


def update(*, session: Session, user: User, data: UserUpdate, actor: str) -> User:
    """Change role, activity, name, email or password; the audit row notes a password change."""
    with audited(session, user, entity="user", action="update", actor=actor) as notes:
        changes = data.model_dump(exclude_unset=True, exclude={"password"})
        for field, value in changes.items():
            if value is None and field != "email":
                continue
            setattr(user, field, value)
        if data.password is not None:
            user.password_hash = hash_password(data.password)
            notes["password_changed"] = True
        session.flush()
    return user


def api_keys_query() -> Select[ApiKey]:
    """All API keys, newest first."""
    return select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())


def get_api_key(*, session: Session, key_id: int) -> ApiKey:
    """An API key by id, or 404."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError("api_key_not_found", f"no API key {key_id}", loc=("path", "key_id"))
    return row


def create_api_key(
    *, session: Session, data: ApiKeyCreate, created_by_id: int | None, actor: str
) -> tuple[ApiKey, str]:
    """Create a service key; returns the row and the full key, which is not stored."""
    if session.scalars(select(ApiKey.id).where(ApiKey.name == data.name)).first() is not None:
        raise ConflictError(
            "api_key_name_taken", f"an API key named {data.name} exists", loc=("body", "name")
        )
    key, prefix, digest = new_api_key()
    row = ApiKey(
        name=data.name,
        prefix=prefix,
        key_sha256=digest,
        role=data.role,
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    add_created(session, row, entity="api_key", actor=actor)
    return row, key


def revoke_api_key(*, session: Session, api_key: ApiKey, actor: str) -> ApiKey:
    """Revoke a key at once; 409 when it is revoked already."""
    if api_key.revoked_at is not None:
        raise ConflictError("api_key_revoked", f"API key {api_key.id} was revoked already")
    with audited(session, api_key, entity="api_key", action="revoke", actor=actor):
        api_key.revoked_at = utcnow()
        session.flush()
    return api_key
