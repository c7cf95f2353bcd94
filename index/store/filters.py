"""What a retrieval filter means, written once, and the three forms it is applied in.

A passage passes when its publication date lies in the inclusive range (a passage without a date never passes a date
filter) and its source is one of those named (none named: any source). ``Filters.days`` states the date rule as one
range of date numbers; Chroma's ``where`` clause, the keyword snapshot's mask and the per-passage check all apply it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from index.store.passages import Passage, date_number


@dataclass(frozen=True)
class Filters:
    """Retrieval restrictions: publication date range (inclusive) and source names."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sources)

    def days(self) -> tuple[int, int | None] | None:
        """The date numbers a passage must fall in, first and last (None: no end); None without a date filter.
        The first is at least 1, so an undated passage (0) never passes."""
        if not (self.since or self.until):
            return None
        first = date_number(self.since.isoformat()) if self.since else 1
        return first, date_number(self.until.isoformat()) if self.until else None

    def where(self) -> dict[str, Any] | None:
        """As a Chroma ``where`` clause over the stored metadata (see ``passage_meta``)."""
        clauses: list[dict[str, Any]] = []
        days = self.days()
        if days:
            first, last = days
            clauses.append({"date": {"$gte": first}})
            if last is not None:
                clauses.append({"date": {"$lte": last}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, dates: np.ndarray, sources: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """As booleans over columns: ``dates`` (``day_of`` each row) and ``sources`` (codes indexing ``names``)."""
        keep = np.ones(len(dates), dtype=bool)
        days = self.days()
        if days:
            first, last = days
            keep &= dates >= first
            if last is not None:
                keep &= dates <= last
        if self.sources:
            wanted = set(self.sources)
            keep &= np.isin(sources, [code for code, name in enumerate(names) if name in wanted])
        return keep

    def admits(self, passage: Passage) -> bool:
        """Applied to one passage."""
        days = self.days()
        if days:
            day, (first, last) = day_of(passage), days
            if day < first or (last is not None and day > last):
                return False
        return not self.sources or passage.source in self.sources


def day_of(passage: Passage) -> int:
    """The date number a filter compares (``passage_meta`` stores the same number as ``date``)."""
    return date_number(passage.published)
