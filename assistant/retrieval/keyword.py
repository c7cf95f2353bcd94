"""The keyword half: an immutable BM25 snapshot of the committed passages of one store generation.

BM25 is ``bm25s`` (the engine behind llama-index's ``BM25Retriever``), driven directly: filters change per query (a
numpy mask over the snapshot instead of a new retriever and a Python filter per passage), and the query needs the
same stopwords as the corpus. The snapshot keeps no passage text or metadata, only what ranking and filtering read:
ids, dates, sources and the BM25 matrix, 0.88 KB a passage at 50k passages (bench/query_speed.py). Holding the texts
and metadata too cost about 6 KB a passage, several GB for a 100k-article library; the few passages a search
returns are read from the store by id instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer

from index.store import Filters, Passage, Store, day_of

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import, and records from a logger with its own level reach the root handler
# whatever the root level is: without this every answer printed "DEBUG Building index from IDs objects".
logging.getLogger("bm25s").setLevel(logging.WARNING)

STOPWORDS = "en"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


@dataclass
class LexicalHits:
    ranked: list[tuple[str, float]]
    """Chunk ids and BM25 scores, best first."""
    scores: np.ndarray
    """BM25 score of every snapshot row (after filters): fusion reads dense candidates' keyword scores here."""
    best: float


class KeywordIndex:
    """BM25 over the snapshot's rows, with the filter columns (dates, sources) beside it."""

    def __init__(self, generation: int, ids: list[str], texts: list[str], dates: list[int],
                 sources: list[str]) -> None:
        """``texts`` are what BM25 indexes (see ``keyword_text``); they are not kept."""
        self.generation = generation
        self.ids = ids
        self.row = {cid: i for i, cid in enumerate(ids)}
        self.dates = np.asarray(dates, dtype=np.int64)
        self.source_names = sorted(set(sources))
        code = {name: i for i, name in enumerate(self.source_names)}
        self.source_codes = np.asarray([code[name] for name in sources], dtype=np.int32)
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25: bm25s.BM25 | None = None
        if ids:
            tokens = bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=self.stemmer, token_pattern=TOKEN_PATTERN,
                                    show_progress=False)
            # BM25+ (a floor for every matched term) ranked best on the dev set; k1/b are the usual values.
            self.bm25 = bm25s.BM25(method="bm25+", k1=1.2, b=0.75)
            self.bm25.index(tokens, show_progress=False)

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, store: Store, generation: int) -> KeywordIndex:
        started = time.perf_counter()
        ids: list[str] = []
        texts: list[str] = []
        dates: list[int] = []
        sources: list[str] = []
        for passage in store.scan_passages():
            ids.append(passage.chunk_id)
            texts.append(keyword_text(passage))
            dates.append(day_of(passage))
            sources.append(passage.source)
        index = cls(generation, ids, texts, dates, sources)
        log.info("keyword index: %d passages, generation %d, built in %.1f s", len(ids), generation,
                 time.perf_counter() - started)
        return index

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """1.0 for rows the filters allow, 0.0 elsewhere (bm25s weighs scores by it); None without filters."""
        if not filters:
            return None
        return filters.mask(self.dates, self.source_codes, self.source_names).astype(np.float32)

    def search(self, query: str, depth: int, mask: np.ndarray | None) -> LexicalHits:
        """BM25 hits among the rows ``mask`` allows (see ``mask``; None allows all)."""
        empty = LexicalHits([], np.zeros(self.size, dtype=np.float32), 0.0)
        if self.bm25 is None:
            return empty
        words = bm25s.tokenize([query], stopwords=STOPWORDS, stemmer=self.stemmer, token_pattern=TOKEN_PATTERN,
                               return_ids=False, show_progress=False)[0]
        token_ids = self.bm25.get_tokens_ids(words)
        if not token_ids:
            return empty
        scores = self.bm25.get_scores_from_ids(token_ids, weight_mask=mask)
        # BM25+ gives every passage a floor score: only passages containing a query term are keyword hits.
        postings = self.bm25.scores
        matched = np.zeros(self.size, dtype=bool)
        for token in set(token_ids):
            matched[postings["indices"][postings["indptr"][token]:postings["indptr"][token + 1]]] = True
        if mask is not None:
            matched &= mask > 0
        rows = np.flatnonzero(matched)
        if rows.size == 0:
            return LexicalHits([], scores, 0.0)
        if rows.size > depth:
            rows = rows[np.argpartition(-scores[rows], depth - 1)[:depth]]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return LexicalHits([(self.ids[r], float(scores[r])) for r in rows], scores, float(scores[rows[0]]))

    def score_of(self, chunk_id: str, scores: np.ndarray) -> float:
        row = self.row.get(chunk_id)
        return float(scores[row]) if row is not None else 0.0


def keyword_text(passage: Passage) -> str:
    """What BM25 indexes for a passage: the headline too, so a name only the headline carries still matches."""
    return f"{passage.title}\n{passage.text}" if passage.title else passage.text
