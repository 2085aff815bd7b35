"""Creating user accounts, shared by the CLI (`cityhall users create`) and the API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.audit import add_created
from cityhall.errors import ConflictError, InvalidInputError
from cityhall.models import Role, User
from cityhall.security import hash_password

MIN_PASSWORD_LENGTH = 12


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    email: str | None = None,
    actor: str,
) -> User:
    """Create an active user with an argon2-hashed password; 409 if the username is taken."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password_too_short",
            f"password needs at least {MIN_PASSWORD_LENGTH} characters",
            loc=("body", "password"),
        )
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise ConflictError("username_taken", f"user {username!r} exists already", loc=("body", "username"))
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        role=role,
        password_hash=hash_password(password),
    )
    add_created(session, user, entity="user", actor=actor)
    return user
