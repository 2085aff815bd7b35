"""Administration of user accounts and service API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from api.users import service
from api.users.dependencies import ValidApiKey, ValidUser
from api.users.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, UserCreate, UserRead, UserUpdate

router = APIRouter(tags=["users"])

Admin = Annotated[Principal, Depends(require_roles())]


@router.get("/users", response_model=Page[UserRead])
def list_users(_admin: Admin, session: SessionDep, page: PageDep) -> Page[UserRead]:
    """All accounts, by username."""
    return paginate(session, service.list_query(), page, UserRead.model_validate)


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, admin: Admin, session: SessionDep) -> UserRead:
    """Create an account."""
    return UserRead.model_validate(service.create(session=session, data=data, actor=admin.actor))


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(_admin: Admin, user: ValidUser) -> UserRead:
    """One account."""
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(data: UserUpdate, admin: Admin, user: ValidUser, session: SessionDep) -> UserRead:
    """Change an account's role, activity, name, email or password."""
    return UserRead.model_validate(service.update(session=session, user=user, data=data, actor=admin.actor))


@router.get("/api-keys", response_model=Page[ApiKeyRead])
def list_api_keys(_admin: Admin, session: SessionDep, page: PageDep) -> Page[ApiKeyRead]:
    """Service keys, newest first, without secrets."""
    return paginate(session, service.api_keys_query(), page, ApiKeyRead.model_validate)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(data: ApiKeyCreate, admin: Admin, session: SessionDep) -> ApiKeyCreated:
    """Create a service key; the response is the only time the key is shown."""
    row, key = service.create_api_key(
        session=session, data=data, created_by_id=admin.user_id, actor=admin.actor
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(row).model_dump(), "key": key})


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyRead)
def revoke_api_key(admin: Admin, api_key: ValidApiKey, session: SessionDep) -> ApiKeyRead:
    """Revoke a service key; it stops working at once."""
    return ApiKeyRead.model_validate(
        service.revoke_api_key(session=session, api_key=api_key, actor=admin.actor)
    )
