"""The three retrieval modes, each turning a query into a ranking of passage ids; one is chosen per retriever."""

from __future__ import annotations

from typing import NamedTuple

from assistant.retrieval.dense import DenseSearch
from assistant.retrieval.fusion import Fusion
from assistant.retrieval.snapshots import KeywordSnapshots
from index.store import Filters, Passage


class Ranking(NamedTuple):
    ranked: list[tuple[str, float]]
    """Passage ids with their scores, best first."""
    known: dict[str, Passage]
    """Passages the ranking already read from the store."""


NOTHING = Ranking([], {})


class DenseMode:
    uses_keywords = False

    def __init__(self, dense: DenseSearch) -> None:
        self.dense = dense

    def rank(self, query: str, depth: int, filters: Filters | None) -> Ranking:
        hits = self.dense.search(query, depth, filters)
        return Ranking([(cid, hits.cosine[cid]) for cid in hits.ids], hits.passages)


class KeywordMode:
    uses_keywords = True

    def __init__(self, snapshots: KeywordSnapshots) -> None:
        self.snapshots = snapshots

    def rank(self, query: str, depth: int, filters: Filters | None) -> Ranking:
        keywords = self.snapshots.get()
        if keywords.size == 0:  # a snapshot of an empty store is always current (rebuilt inline)
            return NOTHING
        return Ranking(keywords.search(query, depth, keywords.mask(filters)).ranked, {})


class HybridMode:
    uses_keywords = True

    def __init__(self, snapshots: KeywordSnapshots, dense: DenseSearch, fusion: Fusion) -> None:
        self.snapshots = snapshots
        self.dense = dense
        self.fusion = fusion

    def rank(self, query: str, depth: int, filters: Filters | None) -> Ranking:
        keywords = self.snapshots.get()
        if keywords.size == 0:
            return NOTHING
        mask = keywords.mask(filters)
        lexical = keywords.search(query, depth, mask)
        dense = self.dense.search(query, depth, filters, keywords, mask)
        return Ranking(self.fusion(dense, lexical, keywords), dense.passages)
