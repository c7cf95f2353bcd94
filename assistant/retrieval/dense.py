"""The dense half: the store's nearest neighbours of the query vector, filtered the cheapest way available.

Chroma's ``where`` costs 50-270 ms at 50k passages against ~5 ms for an unfiltered query of 1,000 (bench/query_speed.py
measures search with and without filters). So with a keyword snapshot at hand (hybrid mode) the filters are applied
through its mask: a filter letting a fair share through is applied after an unfiltered over-fetch, a narrow one
restricts the query to the allowed ids, and only a narrow filter on a very large store falls back to ``where``.
Without a snapshot (dense-only mode, which holds none) the store applies ``where``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assistant.retrieval.keyword import KeywordIndex
from index.pipeline.embedding import Embedder
from index.store import Filters, Passage, Store

OVERFETCH_MAX = 1000
"""Largest unfiltered dense fetch used to apply a filter afterwards (Chroma: ~5 ms for 1000 at 50k passages)."""
IDS_MAX = 4000
"""Largest id list a filtered dense query is restricted to; past both limits Chroma's own ``where`` filters."""


@dataclass
class DenseHits:
    vector: np.ndarray
    ids: list[str]
    """Best first."""
    cosine: dict[str, float]
    passages: dict[str, Passage]
    """Hits already read from the store (those the snapshot does not know), so they are not read twice."""

    def add(self, chunk_id: str, cosine: float, passage: Passage | None = None) -> None:
        self.ids.append(chunk_id)
        self.cosine[chunk_id] = cosine
        if passage is not None:
            self.passages[chunk_id] = passage


class DenseSearch:
    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(self, query: str, depth: int, filters: Filters | None, keywords: KeywordIndex | None = None,
               mask: np.ndarray | None = None) -> DenseHits:
        """The ``depth`` nearest passages the filters allow; ``mask`` is ``keywords.mask(filters)``."""
        vector = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        hits = DenseHits(vector, [], {}, {})
        if keywords is None:
            for cid, distance in self.store.nearest(vector, depth, filters=filters):
                hits.add(cid, 1.0 - float(distance))
            return hits
        nearest = self._nearest(vector, depth, filters, keywords, mask)
        unknown = [cid for cid, _ in nearest if cid not in keywords.row]  # written after the snapshot was built
        extra = {cid: p for cid, p in self.store.passages(unknown).items() if not filters or filters.admits(p)}
        for cid, distance in nearest:
            if len(hits.ids) >= depth:
                break
            row = keywords.row.get(cid)
            if row is not None:
                if mask is None or mask[row]:
                    hits.add(cid, 1.0 - float(distance))
            elif cid in extra:
                hits.add(cid, 1.0 - float(distance), extra[cid])
        return hits

    def _nearest(self, vector: np.ndarray, depth: int, filters: Filters | None, keywords: KeywordIndex,
                 mask: np.ndarray | None) -> list[tuple[str, float]]:
        """Candidates for ``search`` to filter by the mask: over-fetched, restricted to the allowed ids, or (past
        both limits) filtered by the store."""
        if mask is None:
            return self.store.nearest(vector, depth)
        allowed = np.flatnonzero(mask)
        if allowed.size == 0:
            return []
        need = math.ceil(depth * keywords.size / allowed.size * 1.5)
        if need <= OVERFETCH_MAX:
            return self.store.nearest(vector, need)
        if allowed.size <= IDS_MAX:
            return self.store.nearest(vector, min(depth, int(allowed.size)), ids=[keywords.ids[r] for r in allowed])
        return self.store.nearest(vector, depth, filters=filters)
