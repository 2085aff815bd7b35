"""Rules from both sources, validated as one document: the rules file (schedules and the shipped or
configured rules, edited as a file) and the database (rules created through the API).

The two share one namespace of keys and the file's named schedules.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import Building, Device, StoredRule
from rules.config import DEFAULTS, RuleConfigError, RuleDefinition, load_document, parse_rules

log = structlog.get_logger(__name__)


def stored_documents(session: Session) -> list[dict[str, Any]]:
    """The API's rules as mappings, by key."""
    return [row.definition for row in session.scalars(select(StoredRule).order_by(StoredRule.key))]


def merged_document(file_doc: dict[str, Any], stored: list[dict[str, Any]]) -> dict[str, Any]:
    """One rules document: the file's schedules, the file's rules, then the stored ones."""
    return {"schedules": file_doc.get("schedules") or {}, "rules": [*(file_doc.get("rules") or []), *stored]}


def load_definitions(session: Session, path: Path | None = None) -> list[RuleDefinition]:
    """Every rule, from the file and the database, validated together (unique keys, known schedules)."""
    doc = merged_document(load_document(path), stored_documents(session))
    return parse_rules(doc, f"{path or DEFAULTS} + rules in the database")


def rules_version(session: Session) -> tuple[int, int, int]:
    """Changes whenever a stored rule is created, changed or deleted: (count, highest id, sum of versions)."""
    count, top, versions = session.execute(
        select(func.count(StoredRule.id), func.max(StoredRule.id), func.sum(StoredRule.version))
    ).one()
    return int(count or 0), int(top or 0), int(versions or 0)


def check_references(session: Session, definitions: Sequence[RuleDefinition]) -> None:
    """Refuse rules that name devices or buildings the asset register does not have."""
    known_devices = set(session.scalars(select(Device.code)))
    known_buildings = set(session.scalars(select(Building.code)))
    for i, d in enumerate(definitions):
        for code in d.targets.devices:
            if code not in known_devices:
                raise RuleConfigError(
                    f"rules[{i}] ({d.key}).targets.devices: unknown device {code!r}",
                    ("rules", i, "targets", "devices"),
                )
        for code in d.targets.buildings:
            if code not in known_buildings:
                raise RuleConfigError(
                    f"rules[{i}] ({d.key}).targets.buildings: unknown building {code!r}",
                    ("rules", i, "targets", "buildings"),
                )


class RuleBook:
    """The rules in force, reloaded when the database's rules change (the file is read at each reload).

    One book serves several engines (the demo's cycle runner and live evaluator, in two threads): each asks
    `changed_since` with the generation it last took, so every engine sees every change, not only the first to
    look. A reload that fails validation (say, a file edited to reuse a key created through the API) keeps the
    rules in force and logs why, so a bad edit never stops the engine.
    """

    def __init__(self, factory: sessionmaker[Session], path: Path | None = None) -> None:
        """Load once; a RuleConfigError here is the caller's to report (the engine should not start)."""
        self.factory = factory
        self.path = path
        self._version: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        # (generation, rules): replaced whole, so a reader never sees one without the other.
        self._current: tuple[int, list[RuleDefinition]] = (0, [])
        with factory() as session:
            self._load(session)

    @property
    def definitions(self) -> list[RuleDefinition]:
        """The rules in force."""
        return self._current[1]

    @property
    def generation(self) -> int:
        """Bumped by every reload that changed the rules in force."""
        return self._current[0]

    def _load(self, session: Session) -> None:
        version = rules_version(session)
        definitions = load_definitions(session, self.path)
        check_references(session, definitions)
        self._current = (self._current[0] + 1, definitions)
        self._version = version

    def refresh(self) -> bool:
        """Reload when the stored rules have changed; True when this call changed the rules in force."""
        with self._lock, self.factory() as session:
            if rules_version(session) == self._version:
                return False
            try:
                self._load(session)
            except RuleConfigError as err:
                log.error("rules_reload_refused", error=str(err))
                self._version = rules_version(session)  # do not retry until something changes again
                return False
        log.info("rules_reloaded", rules=len(self.definitions))
        return True

    def changed_since(self, generation: int) -> tuple[int, list[RuleDefinition]] | None:
        """Refresh, then the rules in force with their generation if they differ from `generation`."""
        self.refresh()
        current = self._current
        return None if current[0] == generation else current
