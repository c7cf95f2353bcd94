"""The answer's text: its units in reading order, each followed by its ``[n]``, and the citations with the spans
the answer shows (``Citation.quotes``, highlighted by the front ends)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.sentences import Unit
from assistant.types import Citation, Passage


@dataclass
class Composed:
    units: list[Unit]
    """The units as shown: merged and ordered."""
    pieces: list[str]
    """The answer text in streamable pieces (one per unit); they concatenate to ``text``."""
    text: str
    citations: list[Citation]


def compose(units: list[Unit], passages: Sequence[Passage]) -> Composed:
    """Orders the units (best article first, then reading order inside an article) and numbers citations 1..N in
    order of first use."""
    units = merge(units)
    article_rank: dict[str, int] = {}
    for u in units:
        article_rank.setdefault(passages[u.passage].article_id, len(article_rank))
    units.sort(key=lambda u: (article_rank[passages[u.passage].article_id],
                              passages[u.passage].start + u.sentences[0].start))
    numbers, citations = cite(units, passages)
    pieces = [("" if i == 0 else " ") + f"{u.text} [{n}]" for i, (u, n) in enumerate(zip(units, numbers))]
    return Composed(units, pieces, "".join(pieces), citations)


def cite(units: Sequence[Unit], passages: Sequence[Passage]) -> tuple[list[int], list[Citation]]:
    """Each unit's citation number (1..N in order of first use) and the citations, each quoting the spans of its
    passage the units show. Shared by every answer layout (prose, timeline), so ``[n]`` always means the same."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[tuple[int, int]]] = {}
    shown = []
    for u in units:
        shown.append(numbers.setdefault(u.passage, len(numbers) + 1))
        quotes.setdefault(u.passage, []).extend((s.start, s.end) for s in u.sentences)
    citations = [Citation.of(n, passages[p], tuple(sorted(set(quotes[p])))) for p, n in numbers.items()]
    return shown, citations


def merge(units: list[Unit]) -> list[Unit]:
    """Drops a unit whose sentences another unit already shows (a context sentence picked on its own too)."""
    shown: set[tuple[int, int]] = set()
    out: list[Unit] = []
    for u in sorted(units, key=lambda u: -len(u.sentences)):
        keys = {(u.passage, s.order) for s in u.sentences}
        if keys <= shown:
            continue
        u.sentences = [s for s in u.sentences if (u.passage, s.order) not in shown]
        shown |= keys
        out.append(u)
    return out
