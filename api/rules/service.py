"""Rules through the API: validated exactly as the engine will load them, audited, file rules read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.rules.schemas import RuleRead, RuleSource, ScheduleRead
from cityhall.audit import add_created, record
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import StoredRule
from cityhall.settings import Settings
from rules.config import RuleConfigError, RuleDefinition, load_document, parse_rules
from rules.repository import check_references, merged_document, stored_documents
from rules.runner import check_window

ENTITY = "rule"


def _file_doc(settings: Settings) -> dict[str, Any]:
    return load_document(settings.rules_file)


def _file_rules(settings: Settings, doc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rules file's rules (from `doc` when the caller has read the file already)."""
    doc = doc if doc is not None else _file_doc(settings)
    return [r for r in doc.get("rules") or [] if isinstance(r, dict)]


def _read_file_rule(doc: dict[str, Any]) -> RuleRead:
    return RuleRead(
        key=str(doc.get("key")),
        name=str(doc.get("name")),
        kind=str(doc.get("kind")),
        enabled=bool(doc.get("enabled", True)),
        source=RuleSource.FILE,
        definition=doc,
    )


def _read_stored(row: StoredRule) -> RuleRead:
    doc = row.definition
    return RuleRead(
        key=row.key,
        name=str(doc.get("name")),
        kind=str(doc.get("kind")),
        enabled=bool(doc.get("enabled", True)),
        source=RuleSource.API,
        definition=doc,
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def list_rules(session: Session, settings: Settings, *, kind: str | None = None) -> list[RuleRead]:
    """Every rule, file rules first, then the database's by key; optionally of one kind."""
    rules = [_read_file_rule(d) for d in _file_rules(settings)]
    rules += [_read_stored(r) for r in session.scalars(select(StoredRule).order_by(StoredRule.key))]
    return [r for r in rules if kind is None or r.kind == kind]


def list_schedules(settings: Settings) -> list[ScheduleRead]:
    """The rules file's named schedules, which rules refer to by name."""
    schedules = _file_doc(settings).get("schedules") or {}
    return [ScheduleRead(name=name, definition=spec) for name, spec in sorted(schedules.items())]


def get_rule(session: Session, settings: Settings, key: str) -> RuleRead:
    """One rule by key, from either source, or 404."""
    row = session.scalars(select(StoredRule).where(StoredRule.key == key)).one_or_none()
    if row is not None:
        return _read_stored(row)
    for doc in _file_rules(settings):
        if doc.get("key") == key:
            return _read_file_rule(doc)
    raise NotFoundError("rule_not_found", f"no rule {key!r}", loc=("path", "key"))


def _stored_row(session: Session, settings: Settings, key: str) -> StoredRule:
    row = session.scalars(select(StoredRule).where(StoredRule.key == key)).one_or_none()
    if row is not None:
        return row
    if any(doc.get("key") == key for doc in _file_rules(settings)):
        raise ConflictError(
            "rule_in_file", f"rule {key!r} is defined in the rules file; change it there", loc=("path", "key")
        )
    raise NotFoundError("rule_not_found", f"no rule {key!r}", loc=("path", "key"))


def validate(
    session: Session, settings: Settings, body: dict[str, Any], *, replacing: str | None = None
) -> None:
    """Check a rule as the engine will load it, beside every other rule; errors name the body's field."""
    file_doc = _file_doc(settings)
    key = body.get("key")
    if any(doc.get("key") == key for doc in _file_rules(settings, file_doc)):
        raise ConflictError("rule_exists", f"rule {key!r} is defined in the rules file", loc=("body", "key"))
    others = [d for d in stored_documents(session) if d.get("key") != replacing]
    if key != replacing and any(d.get("key") == key for d in others):
        raise ConflictError("rule_exists", f"a rule {key!r} exists", loc=("body", "key"))
    schedule = body.get("schedule")
    known = file_doc.get("schedules") or {}
    if isinstance(schedule, str) and schedule not in known:
        names = ", ".join(sorted(known)) or "none"
        raise InvalidInputError(
            "unknown_schedule", f"unknown schedule {schedule!r}; known: {names}", loc=("body", "schedule")
        )
    doc = merged_document(file_doc, [*others, body])
    position = len(doc["rules"]) - 1
    try:
        definition = _the_rule(parse_rules(doc, "rule"), key)
        check_references(session, [definition])
        check_window(definition, timedelta(minutes=settings.rules_lookback_minutes))
    except RuleConfigError as err:
        raise _field_error(err, position) from err


def _the_rule(definitions: list[RuleDefinition], key: object) -> RuleDefinition:
    return next(d for d in definitions if d.key == key)


def _field_error(err: RuleConfigError, position: int) -> InvalidInputError:
    """The error with its location in the request body: ("rules", n, "above") -> ("body", "above")."""
    loc = err.loc
    if loc[:2] in (("rules", position), ("rules", 0)):
        loc = loc[2:]
    elif loc[:1] == ("rules",):
        loc = ()  # another rule: the merged document as a whole is at fault
    message = str(err).split(": ", 1)[-1] if loc else str(err)
    return InvalidInputError("invalid_rule", message, loc=("body", *loc))


def create(session: Session, settings: Settings, body: dict[str, Any], *, actor: str) -> RuleRead:
    """Store a new rule after validation; the engines pick it up on their next reload."""
    validate(session, settings, body)
    now = utcnow()
    row = StoredRule(
        key=str(body["key"]),
        definition=body,
        created_by=actor,
        updated_by=actor,
        created_at=now,
        updated_at=now,
    )
    add_created(session, row, entity=ENTITY, actor=actor)
    return _read_stored(row)


def replace(session: Session, settings: Settings, key: str, body: dict[str, Any], *, actor: str) -> RuleRead:
    """Replace a stored rule's definition; its key cannot change (delete and create instead)."""
    row = _stored_row(session, settings, key)
    if body.get("key", key) != key:
        raise InvalidInputError("key_changed", "a rule's key cannot change", loc=("body", "key"))
    body = {**body, "key": key}
    validate(session, settings, body, replacing=key)
    before = dict(row.definition)
    row.definition = body
    row.version += 1
    row.updated_at = utcnow()
    row.updated_by = actor
    record(session, actor=actor, action="update", entity=ENTITY, entity_id=row.id, before=before, after=body)
    return _read_stored(row)


def delete(session: Session, settings: Settings, key: str, *, actor: str) -> None:
    """Delete a stored rule; its alarms stay (they name the rule's key)."""
    row = _stored_row(session, settings, key)
    record(
        session,
        actor=actor,
        action="delete",
        entity=ENTITY,
        entity_id=row.id,
        before=row.definition,
        after=None,
    )
    session.delete(row)
