"""Signing in: check a password, mint a token."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.schemas import TokenRead
from api.exceptions import NotAuthenticatedError
from cityhall.models import User
from cityhall.security import create_access_token, hash_password, verify_password
from cityhall.settings import Settings

# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = hash_password("not-a-real-password")


def issue_token(*, session: Session, settings: Settings, username: str, password: str) -> TokenRead:
    """A bearer token for an active user with the right password; 401 otherwise."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise NotAuthenticatedError("invalid_credentials", "incorrect username or password")
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise NotAuthenticatedError("invalid_credentials", "incorrect username or password")
    token = create_access_token(
        subject=str(user.id),
        role=user.role.value,
        secret=settings.jwt_secret.get_secret_value(),
        minutes=settings.access_token_minutes,
    )
    return TokenRead(access_token=token, expires_in=settings.access_token_minutes * 60)
