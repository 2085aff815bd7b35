"""One page shape for every list: `limit`/`offset` in, `{items, total, limit, offset}` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """A slice of a list and the size of the whole list."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageParams:
    """Requested slice of a list."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> PageParams:
    """Read and validate `limit` and `offset` from the query string."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    params: PageParams,
    to_item: Callable[[Any], T],
    *,
    whole_rows: bool = False,
) -> Page[T]:
    """Count the statement's rows, fetch one ordered slice and convert each row (its first column, or the
    whole row for multi-column statements such as aggregates)."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    sliced = stmt.limit(params.limit).offset(params.offset)
    rows = session.execute(sliced).all() if whole_rows else session.scalars(sliced).all()
    return Page[T](
        items=[to_item(row) for row in rows], total=total, limit=params.limit, offset=params.offset
    )


def paginate_list(items: Sequence[Any], params: PageParams, to_item: Callable[[Any], T]) -> Page[T]:
    """One slice of a list computed in memory (a report's rows), converting only the items returned."""
    sliced = items[params.offset : params.offset + params.limit]
    return Page[T](
        items=[to_item(item) for item in sliced], total=len(items), limit=params.limit, offset=params.offset
    )
