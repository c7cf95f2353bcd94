"""Dates a person gives as filters: the web page's From/To, the CLI's --since/--until, the API's since/until.

One reading for all three, and the same one as for dates inside questions (``query.period_of``): ``2024-12-01``,
a timestamp starting with one (the date picker's), or words such as "2 January 2024", "December", "last week",
"yesterday". Anything else is refused with the same message everywhere, and so is a range that ends before it
starts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from assistant.query import period_of


class DateError(ValueError):
    """A filter value that is not a date, or a range that ends before it starts; the message says which."""


def parse_day(value: Any, name: str, today: date | None = None, end: bool = False) -> date | None:
    """The first day (``end``: the last day) of what ``value`` names; None when it is empty."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    period = period_of(text, today or date.today())
    day = None if period is None else period[1 if end else 0]
    if day is None:
        raise DateError(f"{name} needs a date like 2024-12-01 (or words such as 'last week'), not {text!r}")
    return day


def parse_range(since: Any, until: Any, names: tuple[str, str], today: date | None = None
                ) -> tuple[date | None, date | None]:
    """Both ends of a date filter; refuses one whose start is after its end rather than find nothing in it."""
    first = parse_day(since, names[0], today)
    last = parse_day(until, names[1], today, end=True)
    if first and last and first > last:
        raise DateError(f"{names[0]} ({first}) is after {names[1]} ({last}): no article can be in that range")
    return first, last
