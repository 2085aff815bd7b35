"""Token and identity schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from cityhall.models import Role


class TokenRead(BaseModel):
    """An OAuth2 bearer token and its lifetime."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int  # seconds


class PrincipalRead(BaseModel):
    """Who the caller is."""

    kind: Literal["user", "api_key"]
    id: int
    name: str
    role: Role
    actor: str
