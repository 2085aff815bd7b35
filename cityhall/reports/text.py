"""How the report writes numbers and names: thousands separators, units, and names without CJK when needed."""

from __future__ import annotations

import re

from cityhall.reports.content import Quantity

# CJK ideographs, radicals, punctuation and full-width forms.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_PARENTHESISED_CJK = re.compile(rf"\s*[(\uff08][^()\uff08\uff09]*[{_CJK}][^()\uff08\uff09]*[)\uff09]")
_ANY_CJK = re.compile(f"[{_CJK}]+")


def has_cjk(text: str) -> bool:
    """True when the text holds a CJK character."""
    return _ANY_CJK.search(text) is not None


def latin(text: str) -> str:
    """The text without its CJK parts: `Main Building (行政大樓)` -> `Main Building`."""
    return " ".join(_ANY_CJK.sub("", _PARENTHESISED_CJK.sub("", text)).split())


def number(value: float | None, *, digits: int | None = None) -> str:
    """A figure as people read it: `12,345`, `12.3`, `0.42`; an en dash when there is none."""
    if value is None:
        return "\u2013"
    if digits is None:
        size = abs(value)
        digits = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{value:,.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.00"


def amount(q: Quantity, *, digits: int | None = None) -> str:
    """A quantity with its unit: `12,345 kWh`, `-3.2 %`."""
    if q.value is None:
        return "\u2013"
    return f"{number(q.value, digits=digits)} {q.unit}"


def signed_pct(q: Quantity) -> str:
    """A change in per cent with its sign: `+4.1 %`, `-7.0 %`."""
    if q.value is None:
        return "\u2013"
    return f"{q.value:+.1f} %"
