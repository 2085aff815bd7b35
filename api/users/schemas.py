"""User and API key schemas; secrets are write-only except a new key, shown once."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.accounts import MIN_PASSWORD_LENGTH
from cityhall.models import Role

USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]{1,63}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserRead(BaseModel):
    """A user account, without its password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    email: str | None
    role: Role
    is_active: bool
    created_at: AwareDatetime


class UserCreate(BaseModel):
    """A new account."""

    username: str = Field(pattern=USERNAME_PATTERN)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=EMAIL_PATTERN)
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)


class UserUpdate(BaseModel):
    """Changes to an account; omitted fields stay as they are."""

    full_name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=EMAIL_PATTERN)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=256)


class ApiKeyRead(BaseModel):
    """A service key's metadata; the key itself is never stored or shown again."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    role: Role
    created_by_id: int | None
    created_at: AwareDatetime
    revoked_at: AwareDatetime | None


class ApiKeyCreate(BaseModel):
    """A new service key."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,99}$")
    role: Role = Role.SERVICE


class ApiKeyCreated(ApiKeyRead):
    """A new key with its secret, returned once: send it as `X-API-Key`."""

    key: str
