"""Writing the audit log: who changed what, when, and the row before and after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import Enum
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from cityhall.models import AuditEntry

# Columns never copied into the audit log.
_SECRET_COLUMNS = frozenset({"password_hash", "key_sha256"})


def snapshot(obj: object) -> dict[str, Any]:
    """The row's column values as JSON-able data (dates ISO 8601, enums by value, secrets left out)."""
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in _SECRET_COLUMNS:
            continue
        value = getattr(obj, attr.key)
        if isinstance(value, date):  # datetimes too: a datetime is a date
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, bytes):
            value = f"<{len(value)} bytes>"
        out[attr.key] = value
    return out


def add_created(session: Session, obj: object, *, entity: str, actor: str, action: str = "create") -> None:
    """Add a new row, flush to get its id, and audit its creation in the same transaction."""
    session.add(obj)
    session.flush()
    entity_id = inspect(obj).identity[0]
    record(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=None,
        after=snapshot(obj),
    )


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Add one audit row in the caller's transaction, so the write and its record commit together."""
    entry = AuditEntry(
        actor=actor, action=action, entity=entity, entity_id=str(entity_id), before=before, after=after
    )
    session.add(entry)
    return entry


@contextmanager
def audited(
    session: Session,
    obj: object,
    *,
    entity: str,
    action: str,
    actor: str,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Audit the changes made to `obj` inside the block: its snapshot before, and after (flushed).

    `extra` adds facts the columns do not hold (say, a crew's members) to both snapshots; the block may put
    more into the yielded dict, which joins the `after` snapshot only (say, `password_changed`).
    """
    before = {**snapshot(obj), **(extra() if extra else {})}
    notes: dict[str, Any] = {}
    yield notes
    after = {**snapshot(obj), **(extra() if extra else {}), **notes}
    entity_id = inspect(obj).identity[0]
    record(
        session, actor=actor, action=action, entity=entity, entity_id=entity_id, before=before, after=after
    )
