"""A recurring event (a final, a rate decision, an annual report) answered from its latest occurrence.

When the answer's sentences from different articles say the same thing in the same words but for different dates
("X won the 2022 final …", "Y won the 2023 final …"), they are occurrences of one event: an undated question means
the latest one, so the older ones are dropped and the answer says which occurrence it is from.
"""

from __future__ import annotations

from dataclasses import replace

from assistant.answer.compose import compose
from assistant.answer.extractive import Extract
from assistant.text import words

SAME_WORDING = 0.5
"""Share of distinct words two sentences must have in common to read as one event retold for another date."""


def latest_occurrence(found: Extract) -> tuple[Extract, str | None]:
    """The answer without units that an article of a later date retells, and that later date (None when nothing
    was dropped)."""
    if not found.verdict.answerable:
        return found, None
    passages = found.passages
    dated = [(u, passages[u.passage].published or "", set(w.lower() for w in words(u.text))) for u in found.units]
    kept = [u for u, day, vocab in dated
            if not any(other_day > day and _overlap(vocab, other_vocab) >= SAME_WORDING
                       for _, other_day, other_vocab in dated)]
    if len(kept) == len(found.units):
        return found, None
    shown = compose(kept, passages)
    latest = max(passages[u.passage].published or "" for u in kept)
    return replace(found, units=shown.units, text=shown.text, citations=shown.citations,
                   pieces=shown.pieces), latest or None


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))
