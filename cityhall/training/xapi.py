"""Digital learning intake: xAPI 1.0.3 statements from e-learning platforms, credited as digital hours.

A statement names its learner (`actor`: an Agent with `mbox`, `mbox_sha1sum` or an `account` whose name is
the user name), what they did (`verb.id`), to what (`object.id`, an Activity) and the time it took
(`result.duration`, ISO 8601). `completed` and `passed` statements credit their duration, once per learner,
activity and year (platforms re-send completions); a `voided` statement withdraws the credit of the
statement it refers to. The statement id makes intake idempotent: the same statement again changes nothing,
a different statement under a known id is refused (409), as the xAPI specification requires of an LRS.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityhall.audit import record
from cityhall.db import utcnow
from cityhall.errors import ConflictError, DomainError
from cityhall.models import Course, HourKind, TrainingCredit, User, XapiStatement
from cityhall.training.durations import DurationError, parse_duration

TAIPEI = ZoneInfo("Asia/Taipei")
VERBS = "http://adlnet.gov/expapi/verbs/"
CREDITED_VERBS = frozenset({VERBS + "completed", VERBS + "passed"})
VOIDED = VERBS + "voided"
MAX_DURATION = timedelta(hours=24)  # one statement crediting more than a day is not believable
# Fields of a statement the LRS sets, left out when comparing a replay with the stored statement.
_LRS_FIELDS = frozenset({"stored", "authority"})


class StatementError(DomainError):
    """A statement that is not valid xAPI 1.0.3 (400, as the specification asks); `loc` names the field."""

    status_code = 400


@dataclass(frozen=True, slots=True)
class StatementOutcome:
    """What intake did with one statement: stored (and credited how much), or already known."""

    id: str
    stored: bool
    credited_s: int


def _require_object(value: object, loc: tuple[str | int, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementError("invalid_statement", "must be a JSON object", loc=loc)
    return value


def _require_iri(container: dict[str, Any], key: str, loc: tuple[str | int, ...]) -> str:
    value = container.get(key)
    if not isinstance(value, str) or ":" not in value or len(value) > 500:
        raise StatementError("invalid_iri", f"{key} must be an IRI (at most 500 characters)", loc=(*loc, key))
    return value


def _statement_id(statement: dict[str, Any], loc: tuple[str | int, ...]) -> str:
    raw = statement.get("id")
    if raw is None:
        # No id given: derive one from the content, so a re-sent identical statement is still recognised.
        canonical = json.dumps(statement, sort_keys=True, separators=(",", ":"))
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "xapi:" + canonical))
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError as err:
        raise StatementError("invalid_id", "id must be a UUID", loc=(*loc, "id")) from err


def _timestamp(statement: dict[str, Any], loc: tuple[str | int, ...], now: datetime) -> datetime:
    raw = statement.get("timestamp")
    if raw is None:
        return now
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as err:
        raise StatementError(
            "invalid_timestamp", "timestamp must be ISO 8601", loc=(*loc, "timestamp")
        ) from err
    if moment.tzinfo is None:
        raise StatementError("invalid_timestamp", "timestamp must carry a time zone", loc=(*loc, "timestamp"))
    return moment


def _learner(session: Session, actor: dict[str, Any], loc: tuple[str | int, ...]) -> User:
    if actor.get("objectType", "Agent") != "Agent":
        raise StatementError("unsupported_actor", "actor must be an Agent", loc=(*loc, "objectType"))
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in actor]
    if len(ifis) != 1:
        raise StatementError(
            "invalid_actor",
            "actor needs exactly one of mbox, mbox_sha1sum, openid, account",
            loc=loc,
        )
    user: User | None = None
    kind = ifis[0]
    active = User.is_active.is_(True)
    if kind == "mbox":
        mbox = actor["mbox"]
        if not isinstance(mbox, str) or not mbox.startswith("mailto:"):
            raise StatementError("invalid_mbox", "mbox must be a mailto: IRI", loc=(*loc, "mbox"))
        email = mbox.removeprefix("mailto:").lower()
        user = session.scalars(select(User).where(func.lower(User.email) == email, active)).first()
    elif kind == "mbox_sha1sum":
        digest = str(actor["mbox_sha1sum"]).lower()
        for candidate in session.scalars(select(User).where(User.email.is_not(None), active)):
            mailto = f"mailto:{(candidate.email or '').lower()}".encode()
            if hashlib.sha1(mailto, usedforsecurity=False).hexdigest() == digest:
                user = candidate
                break
    elif kind == "account":
        account = _require_object(actor["account"], (*loc, "account"))
        name = account.get("name")
        if not isinstance(name, str) or not isinstance(account.get("homePage"), str):
            raise StatementError("invalid_account", "account needs homePage and name", loc=(*loc, "account"))
        user = session.scalars(select(User).where(func.lower(User.username) == name.lower(), active)).first()
    if user is None:
        raise StatementError(
            "unknown_learner", f"no active staff member matches the {kind}", loc=(*loc, kind)
        )
    return user


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """A statement that passed validation: its id, learner, verb, target, credited time and body."""

    id: str
    user: User
    verb_id: str
    activity_id: str
    object_type: str
    duration_s: int
    completion: bool | None
    occurred_at: datetime
    body: dict[str, Any]


def parse_statement(
    session: Session, raw: object, *, loc: tuple[str | int, ...] = ("body",), now: datetime | None = None
) -> ParsedStatement:
    """Check one statement's 1.0.3 shape and find its learner; StatementError names the bad field."""
    now = now or utcnow()
    statement = _require_object(raw, loc)
    version = statement.get("version")
    if version is not None and not str(version).startswith("1.0"):
        raise StatementError("unsupported_version", "only xAPI 1.0.x is accepted", loc=(*loc, "version"))
    statement_id = _statement_id(statement, loc)
    user = _learner(session, _require_object(statement.get("actor"), (*loc, "actor")), (*loc, "actor"))
    verb = _require_object(statement.get("verb"), (*loc, "verb"))
    verb_id = _require_iri(verb, "id", (*loc, "verb"))
    target = _require_object(statement.get("object"), (*loc, "object"))
    object_type = str(target.get("objectType", "Activity"))
    if object_type == "StatementRef":
        try:
            activity_id = str(uuid.UUID(str(target.get("id"))))
        except ValueError as err:
            raise StatementError(
                "invalid_id", "a StatementRef needs a statement UUID", loc=(*loc, "object", "id")
            ) from err
    else:
        activity_id = _require_iri(target, "id", (*loc, "object"))
    duration_s = 0
    completion: bool | None = None
    if "result" in statement:
        result = _require_object(statement["result"], (*loc, "result"))
        if "duration" in result:
            try:
                duration = parse_duration(str(result["duration"]))
            except DurationError as err:
                raise StatementError("invalid_duration", str(err), loc=(*loc, "result", "duration")) from err
            if duration > MAX_DURATION:
                raise StatementError(
                    "impossible_duration",
                    "a statement may credit at most 24 hours",
                    loc=(*loc, "result", "duration"),
                )
            duration_s = int(duration.total_seconds())
        if "completion" in result:
            if not isinstance(result["completion"], bool):
                raise StatementError(
                    "invalid_completion",
                    "completion must be true or false",
                    loc=(*loc, "result", "completion"),
                )
            completion = result["completion"]
    occurred_at = _timestamp(statement, loc, now)
    return ParsedStatement(
        id=statement_id,
        user=user,
        verb_id=verb_id,
        activity_id=activity_id,
        object_type=object_type,
        duration_s=duration_s,
        completion=completion,
        occurred_at=occurred_at,
        body={**statement, "id": statement_id},
    )


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _LRS_FIELDS}


def _already_credited(session: Session, parsed: ParsedStatement) -> bool:
    year = parsed.occurred_at.astimezone(TAIPEI).year
    stmt = select(XapiStatement.occurred_at).where(
        XapiStatement.user_id == parsed.user.id,
        XapiStatement.activity_id == parsed.activity_id,
        XapiStatement.credited_s > 0,
    )
    return any(t.astimezone(TAIPEI).year == year for t in session.scalars(stmt))


def _void(session: Session, parsed: ParsedStatement) -> None:
    target = session.get(XapiStatement, parsed.activity_id)
    if target is None or target.user_id != parsed.user.id:
        raise StatementError(
            "unknown_statement",
            "the voided statement is not known for this actor",
            loc=("body", "object", "id"),
        )
    target.credited_s = 0
    credit = session.scalars(
        select(TrainingCredit).where(TrainingCredit.source_key == f"xapi:{target.id}")
    ).one_or_none()
    if credit is not None:
        credit.duration_s = 0


def intake(
    session: Session, statements: list[object], *, received_from: str, now: datetime | None = None
) -> list[StatementOutcome]:
    """Validate every statement first (all or none are stored), then store and credit the new ones."""
    now = now or utcnow()
    single = len(statements) == 1
    parsed = [
        parse_statement(session, raw, loc=("body",) if single else ("body", i), now=now)
        for i, raw in enumerate(statements)
    ]
    outcomes: list[StatementOutcome] = []
    seen: set[str] = set()
    for item in parsed:
        known = session.get(XapiStatement, item.id)
        if known is not None or item.id in seen:
            _check_same(known, item)
            outcomes.append(StatementOutcome(item.id, stored=False, credited_s=0))
            continue
        seen.add(item.id)
        try:
            with session.begin_nested():  # a savepoint: a concurrent post of the same id fails alone
                credited_s = _store(session, item, received_from=received_from, now=now)
        except IntegrityError:
            # Another request stored this statement between our look-up and our insert: a replay after all.
            _check_same(session.get(XapiStatement, item.id, populate_existing=True), item)
            outcomes.append(StatementOutcome(item.id, stored=False, credited_s=0))
            continue
        outcomes.append(StatementOutcome(item.id, stored=True, credited_s=credited_s))
    return outcomes


def _check_same(known: XapiStatement | None, item: ParsedStatement) -> None:
    """409 when a stored statement with this id says something else (the same content is a replay)."""
    if known is not None and _comparable(known.statement) != _comparable(item.body):
        raise ConflictError(
            "statement_conflict",
            f"statement {item.id} is already stored with different content",
            loc=("body", "id"),
        )


def _store(session: Session, item: ParsedStatement, *, received_from: str, now: datetime) -> int:
    """Store a new statement, credit its digital hours and audit it; returns the seconds credited."""
    if item.verb_id == VOIDED and item.object_type == "StatementRef":
        _void(session, item)
    credited_s = 0
    if (
        item.verb_id in CREDITED_VERBS
        and item.completion is not False
        and item.duration_s > 0
        and not _already_credited(session, item)
    ):
        credited_s = item.duration_s
    session.add(
        XapiStatement(
            id=item.id,
            user_id=item.user.id,
            verb_id=item.verb_id,
            activity_id=item.activity_id,
            duration_s=item.duration_s,
            credited_s=credited_s,
            occurred_at=item.occurred_at,
            stored_at=now,
            received_from=received_from,
            statement=item.body,
        )
    )
    if credited_s:
        course_id = session.scalars(
            select(Course.id).where(Course.xapi_activity_id == item.activity_id)
        ).first()
        session.add(
            TrainingCredit(
                source_key=f"xapi:{item.id}",
                user_id=item.user.id,
                kind=HourKind.DIGITAL,
                duration_s=credited_s,
                credited_on=item.occurred_at.astimezone(TAIPEI).date(),
                course_id=course_id,
                created_at=now,
            )
        )
    session.flush()
    record(
        session,
        actor=received_from,
        action="xapi_statement",
        entity="training_xapi_statement",
        entity_id=item.id,
        before=None,
        after={"user_id": item.user.id, "verb": item.verb_id, "credited_s": credited_s},
    )
    return credited_s
