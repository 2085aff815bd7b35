"""Composing processes from packages that never import each other (collector, rules, simulators).

The CLI and the demo build their processes here, so both wire them the same way.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from cityhall.settings import Settings
from cityhall.timeseries import ReadingStore
from collector.payloads import registry_for
from rules.live import INSTANT_KINDS, LiveEvaluator
from rules.repository import RuleBook
from rules.runner import RulesRunner


def rules_engines(
    settings: Settings,
    factory: sessionmaker[Session],
    book: RuleBook,
    store: ReadingStore,
) -> tuple[RulesRunner, LiveEvaluator | None]:
    """The cycle runner and, with CITYHALL_RULES_LIVE, the live evaluator that takes the instant kinds.

    With several engines (CITYHALL_RULES_PARTITION=k/n) only engine 1 runs the cycle rules; the others run
    an empty cycle and judge their share of the devices live.
    """
    live = None
    if settings.rules_live:
        registry = registry_for(settings)
        live = LiveEvaluator(
            settings,
            book=book,
            session_factory=factory,
            decode=registry.decode,
            subscriptions=registry.subscriptions,
        )
    first_engine = settings.rules_partition_pair[0] == 0
    runner = RulesRunner(
        book=book if first_engine else [],
        store=store,
        session_factory=factory,
        lookback=timedelta(minutes=settings.rules_lookback_minutes),
        interval_s=settings.rules_interval_seconds,
        skip_kinds=INSTANT_KINDS if live is not None else frozenset(),
    )
    return runner, live
