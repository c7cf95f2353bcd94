"""``Retriever``: the mode's ranking, read from the store a few passages at a time, committed versions only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.published import PublishedDays
from assistant.retrieval.dense import DenseSearch
from assistant.retrieval.fusion import Fusion, RankFusion, ScoreFusion
from assistant.retrieval.modes import DenseMode, HybridMode, KeywordMode, Ranking
from assistant.retrieval.snapshots import KeywordSnapshots
from assistant.retrieval.stories import one_per_story, with_other_reports
from assistant.settings import Settings
from index.pipeline.embedding import Embedder
from index.store import Filters, Passage, Store

READ_MARGIN = 5
"""Passages read from the store beyond the ``k`` asked for, to make up for any that are no longer visible."""


class Retriever:
    """``search`` is safe to call from several threads (the web app does)."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        # Checked here too: tests and benches make settings with ``model_copy``, which does not validate.
        fusions = {"score": lambda: ScoreFusion(store, settings.dense_weight),
                   "rrf": lambda: RankFusion(settings.dense_weight, settings.rrf_k)}
        if settings.fusion not in fusions:
            raise ValueError(f"unknown fusion {settings.fusion!r}: use one of {', '.join(fusions)}")
        self.settings = settings
        self.store = store
        self.dense = DenseSearch(store, embedder)
        self.snapshots = KeywordSnapshots(store, settings.bm25_rebuild_inline_max)
        fusion: Fusion = fusions[settings.fusion]()
        modes = {"hybrid": lambda: HybridMode(self.snapshots, self.dense, fusion),
                 "dense": lambda: DenseMode(self.dense),
                 "bm25": lambda: KeywordMode(self.snapshots)}
        if settings.retrieval_mode not in modes:
            raise ValueError(f"unknown retrieval mode {settings.retrieval_mode!r}: use one of {', '.join(modes)}")
        self.mode: DenseMode | KeywordMode | HybridMode = modes[settings.retrieval_mode]()
        self._facts: tuple[int, list[str], PublishedDays] | None = None

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Best first; ``Passage.score`` is the mode's score (higher is better, comparable within one result)."""
        if not query.strip() or k <= 0:
            return []
        self.store.catch_up()
        ranking = self.mode.rank(query, max(self.settings.retrieval_candidates, k), filters)
        return self._read(ranking, k)

    def _read(self, ranking: Ranking, k: int) -> list[Passage]:
        """The best ``k`` visible passages of a ranking, read from the store a few at a time.

        Candidates past ``k`` absorb passages of uncommitted versions (``Store.committed`` drops them), passages a
        sync deleted since the keyword snapshot was built (the store no longer returns them) and the copies of a
        story beyond its representative (``stories``)."""
        read: list[Passage] = []
        out: list[Passage] = []
        found = dict(ranking.known)
        batch = k + READ_MARGIN
        for at in range(0, len(ranking.ranked), batch):
            part = ranking.ranked[at:at + batch]
            found.update(self.store.passages([cid for cid, _ in part if cid not in found]))
            passages = [replace(found[cid], score=float(score)) for cid, score in part if cid in found]
            read.extend(self.store.committed(passages))
            out = one_per_story(read)
            if len(out) >= k:
                break
        return with_other_reports(out[:k], self.store)

    def known_sources(self) -> list[str]:
        """Source names of the indexed articles, for recognising a source named in a question."""
        return list(self._collection()[0])

    def published_days(self) -> PublishedDays:
        """The days the indexed articles were published, for reading year-less dates against the collection."""
        return self._collection()[1]

    def _collection(self) -> tuple[list[str], PublishedDays]:
        """Sources and publication days, once per store generation: from the keyword snapshot when it is current,
        else from one read of the manifest (at 100k articles a read worth doing once, not once per question)."""
        generation = self.store.generation
        cached = self._facts
        if cached is None or cached[0] != generation:
            keywords = self.snapshots.current
            if keywords is not None and keywords.generation == generation:
                names = set(keywords.source_names)
                days = PublishedDays.of_numbers(int(n) for n in np.unique(keywords.dates))
            else:
                records = [r for r in self.store.records().values() if r.version]
                names = {r.source for r in records}
                days = PublishedDays.of(r.published for r in records)
            cached = self._facts = (generation, sorted((n for n in names if n), key=str.lower), days)
        return cached[1], cached[2]

    def warm_up(self) -> None:
        """Build the keyword snapshot in the background now, so the first question does not wait for it (the web
        server calls this at start-up). Dense-only mode holds no snapshot: nothing to do."""
        if self.mode.uses_keywords:
            self.snapshots.warm_up()
