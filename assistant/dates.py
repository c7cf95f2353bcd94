"""Dates a person gives as filters: the web page's From/To, the CLI's --since/--until, the API's since/until.

One parser so the three front ends accept the same spellings and refuse the rest with the same message.
"""

from __future__ import annotations

from datetime import date
from typing import Any


class DateError(ValueError):
    """A filter value that is not a date; the message names the field and shows the value."""


def parse_day(value: Any, name: str) -> date | None:
    """``YYYY-MM-DD`` (or a timestamp string starting with it, as the date picker sends); None when empty."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise DateError(f"{name} needs a date like 2024-12-01, not {text!r}") from None
