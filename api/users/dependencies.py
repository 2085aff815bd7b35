"""Dependencies that resolve path ids to rows or fail with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import SessionDep
from api.users import service
from cityhall.models import ApiKey, User


def valid_user_id(user_id: int, session: SessionDep) -> User:
    """The user named in the path; 404 naming the id otherwise."""
    return service.get(session=session, user_id=user_id)


def valid_api_key_id(key_id: int, session: SessionDep) -> ApiKey:
    """The API key named in the path; 404 naming the id otherwise."""
    return service.get_api_key(session=session, key_id=key_id)


ValidUser = Annotated[User, Depends(valid_user_id)]
ValidApiKey = Annotated[ApiKey, Depends(valid_api_key_id)]
