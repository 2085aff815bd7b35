"""Sign-in (OAuth2 password flow) and `who am I`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.schemas import PrincipalRead, TokenRead
from api.deps import Principal, PublicRoute, SessionDep, SettingsDep, require_roles
from cityhall.models import Role

router = APIRouter(prefix="/auth", tags=["auth"])

AnyRole = Annotated[Principal, Depends(require_roles(*Role))]


@router.post("/token", response_model=TokenRead, dependencies=[PublicRoute])
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> TokenRead:
    """Exchange a username and password for a bearer token (401 when they do not match)."""
    return service.issue_token(
        session=session, settings=settings, username=form.username, password=form.password
    )


@router.get("/me", response_model=PrincipalRead)
def me(principal: AnyRole) -> PrincipalRead:
    """The authenticated caller."""
    return PrincipalRead(
        kind=principal.kind, id=principal.id, name=principal.name, role=principal.role, actor=principal.actor
    )
