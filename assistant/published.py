"""The days a collection has articles from: a year-less date ("on January 2", "in December") means the latest such
day or month the collection covers, and a refusal can name the newest article's date."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PublishedDays:
    days: tuple[date, ...] = ()
    """Distinct publication days, oldest first."""

    @classmethod
    def of(cls, published: Iterable[str | None]) -> PublishedDays:
        found = set()
        for iso in published:
            if not iso:
                continue
            try:
                found.add(date.fromisoformat(iso[:10]))
            except ValueError:  # a date the loader could not normalise is no publication day
                continue
        return cls(tuple(sorted(found)))

    @classmethod
    def of_numbers(cls, numbers: Iterable[int]) -> PublishedDays:
        """From ``YYYYMMDD`` numbers, as the store encodes dates for filtering (0: undated)."""
        found = set()
        for n in numbers:
            try:
                found.add(date(n // 10000, n // 100 % 100, n % 100))
            except ValueError:  # 0, or a number that is no date
                continue
        return cls(tuple(sorted(found)))

    def any_between(self, since: date, until: date) -> bool:
        at = bisect.bisect_left(self.days, since)
        return at < len(self.days) and self.days[at] <= until

    def newest(self, not_after: date | None = None) -> date | None:
        if not_after is None:
            return self.days[-1] if self.days else None
        at = bisect.bisect_right(self.days, not_after)
        return self.days[at - 1] if at else None

    @property
    def oldest(self) -> date | None:
        return self.days[0] if self.days else None
