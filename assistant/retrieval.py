"""Hybrid passage retrieval: dense vectors in Chroma plus BM25 keywords, fused into one ranking.

- Dense: Chroma's HNSW index. In a hybrid search Chroma returns ids and distances only, and filters go through
  the keyword snapshot's arrays instead of Chroma's ``where`` (``_dense_fast``: at 50k passages this is what keeps
  search p50 under 60 ms, see bench/query_speed.py). The dense-only mode goes through llama-index's
  ``ChromaVectorStore``: our passages are not llama-index nodes (see ``index.sync._chunk_meta``), and
  ``ChromaVectorStore.query`` falls back to its legacy parsing, which keeps our metadata as-is
  (tests/test_retrieval.py checks spans and dates through it).
- Keywords: BM25 (``bm25s``, the engine behind llama-index's ``BM25Retriever``) over an in-memory snapshot read
  from Chroma page by page, so it works the same against a Chroma server. We drive ``bm25s`` directly rather than
  through ``BM25Retriever`` because filters change per query (a numpy mask over the snapshot instead of a new
  retriever and a Python filter per passage) and the query needs the same stopwords as the corpus. The snapshot
  keeps no passage text or metadata, only what ranking and filtering need: the few passages a search returns are
  read from Chroma by id. Holding them all cost about 6 KB a passage, several GB for a 100k-article library.
- Fusion: by default a weighted sum of each half's scores scaled by its best score (``fusion="score"``):
  on the RealTimeQA dev set it beat reciprocal-rank fusion at its best k and weight (MRR@10 0.809 vs 0.787,
  notes of issue 3), because it keeps how far the best match stands above the next. ``fusion="rrf"`` remains.

Only passages of an article's committed version are returned (see ``index.store``): a half-written article is
never visible, even to a reader running while a sync writes; a stale keyword snapshot is harmless for the same
reason. The snapshot is rebuilt when ``Store.generation`` moves: inside the query while the store is small, in a
background thread (serving the previous snapshot meanwhile) once rebuilding would take long.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import bm25s
import numpy as np
import Stemmer
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.settings import Settings
from assistant.types import Filters, Passage
from index.embedding import Embedder
from index.store import PAGE, Store, date_number

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import, and records from a logger with its own level reach the root handler
# whatever the root level is: without this every answer printed "DEBUG Building index from IDs objects".
logging.getLogger("bm25s").setLevel(logging.WARNING)

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("score", "rrf")
STOPWORDS = "en"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
OVERFETCH_MAX = 1000
"""Largest unfiltered dense fetch used to apply a filter afterwards (Chroma: ~5 ms for 1000 at 50k passages)."""
IDS_MAX = 4000
"""Largest id list a filtered dense query is restricted to; past both limits Chroma's own ``where`` filters."""
READ_MARGIN = 5
"""Passages read from Chroma beyond the ``k`` asked for, to make up for any that are no longer visible."""


class Retriever:
    """``search`` is safe to call from several threads (the web app does)."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        if settings.retrieval_mode not in MODES:
            raise ValueError(f"unknown retrieval mode {settings.retrieval_mode!r}: use one of {', '.join(MODES)}")
        if settings.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {settings.fusion!r}: use one of {', '.join(FUSIONS)}")
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._keywords: KeywordIndex | None = None
        self._build_lock = threading.Lock()
        """Held while a snapshot is built: a second build waits for the first instead of repeating it."""
        self._builder_lock = threading.Lock()
        self._builder: threading.Thread | None = None
        self._sources: tuple[int, list[str]] | None = None

    # -- public API --------------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Best first; ``Passage.score`` is the fused score (higher is better, comparable within one result)."""
        if not query.strip() or k <= 0:
            return []
        self.store.catch_up()
        mode = self.settings.retrieval_mode
        depth = max(self.settings.retrieval_candidates, k)
        if mode == "dense":
            return self.visible(list(self._dense_plain(query, depth, filters).passages.values()))[:k]
        keywords = self.keyword_index()
        if keywords.size == 0:  # a snapshot of an empty store is always current (rebuilt inline)
            return []
        mask = keywords.mask(filters)
        lexical = keywords.search(query, depth, mask)
        dense = self._dense_fast(query, depth, filters, keywords, mask) if mode == "hybrid" else None
        ranked = self._fuse(dense, lexical, keywords)
        return self._read(ranked, k, dense.passages if dense else {})

    def _read(self, ranked: list[tuple[str, float]], k: int, known: dict[str, Passage]) -> list[Passage]:
        """The best ``k`` visible passages of a ranking, read from Chroma a few at a time.

        Candidates past ``k`` absorb passages of uncommitted versions (``visible`` drops them) and passages a sync
        deleted since the snapshot was built (Chroma no longer returns them)."""
        out: list[Passage] = []
        found = dict(known)
        batch = k + READ_MARGIN
        for at in range(0, len(ranked), batch):
            part = ranked[at:at + batch]
            wanted = [cid for cid, _ in part if cid not in found]
            if wanted:
                got = self.store.chunks.get(ids=wanted, include=["documents", "metadatas"])
                for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                    found[cid] = to_passage(cid, text or "", meta or {}, 0.0)
            passages = [_with_score(found[cid], score) for cid, score in part if cid in found]
            out.extend(self.visible(passages))
            if len(out) >= k:
                break
        return out[:k]

    def visible(self, passages: list[Passage]) -> list[Passage]:
        """Drops passages of versions that are not (or no longer) committed."""
        records = self.store.records_for([p.article_id for p in passages])
        versions = {rid: r.version for rid, r in records.items()}
        return [p for p in passages if versions.get(p.article_id) == p.chunk_id.split(":")[1]]

    def known_sources(self) -> list[str]:
        """Source names of the indexed articles, for recognising a source named in a question."""
        generation = self.store.generation
        cached = self._sources
        if cached is None or cached[0] != generation:
            keywords = self._keywords
            if keywords is not None and keywords.generation == generation:
                names = set(keywords.source_names)
            else:
                names = {r.source for r in self.store.records().values() if r.version}
            cached = self._sources = (generation, sorted((n for n in names if n), key=str.lower))
        return list(cached[1])

    def warm_up(self) -> None:
        """Build the keyword index in the background now (a long-running app calls this at start), so the first
        question does not wait for it."""
        if self._keywords is None:
            self._refresh_in_background(self.store.generation)

    def keyword_index(self) -> KeywordIndex:
        """The BM25 snapshot, refreshed when the store's generation moved (see the module docstring).

        The very first snapshot is built inline (a one-shot CLI search has nothing else to serve), unless
        ``warm_up`` started it already, in which case this waits for that build."""
        generation = self.store.generation
        current = self._keywords
        if current is not None and current.generation == generation:
            return current
        if current is None or current.size <= self.settings.bm25_rebuild_inline_max:
            return self.refresh(generation)
        self._refresh_in_background(generation)
        return current

    def refresh(self, generation: int | None = None) -> KeywordIndex:
        """Rebuild the keyword snapshot now (waits for a rebuild already running)."""
        with self._build_lock:
            if generation is None:
                generation = self.store.generation
            current = self._keywords
            if current is None or current.generation != generation:
                current = self._keywords = KeywordIndex.build(self.store, generation)
            return current

    # -- the two halves ----------------------------------------------------------------------------------------

    def _dense_plain(self, query: str, depth: int, filters: Filters | None) -> DenseHits:
        """Dense only, through llama-index's ``ChromaVectorStore`` (documents and metadata come from Chroma)."""
        vector = self._embed(query)
        hits = DenseHits(vector, [], {}, {})
        if self.store.chunks.count() == 0:
            return hits
        # A new ChromaVectorStore each time (it only wraps the collection): the store may have reopened the collection.
        result = ChromaVectorStore(chroma_collection=self.store.chunks).query(VectorStoreQuery(
            query_embedding=vector.tolist(), similarity_top_k=depth, filters=metadata_filters(filters)))
        for node, similarity in zip(result.nodes or [], result.similarities or []):
            # ChromaVectorStore reports exp(-distance); the collection's distance is cosine distance.
            cosine = 1.0 + math.log(similarity) if similarity > 0 else -1.0
            hits.add(node.node_id, cosine, to_passage(node.node_id, node.get_content(), node.metadata, cosine))
        return hits

    def _dense_fast(self, query: str, depth: int, filters: Filters | None, keywords: KeywordIndex,
                    mask: np.ndarray | None) -> DenseHits:
        """Dense half of a hybrid search: Chroma returns ids and distances only. Filters use the snapshot's mask,
        because Chroma's ``where`` costs 50-270 ms at 50k passages: a filter letting through a fair share is
        applied after an unfiltered over-fetch, a narrow one restricts the query to the allowed ids; only a narrow
        filter on a very large store falls back to ``where``."""
        vector = self._embed(query)
        hits = DenseHits(vector, [], {}, {})
        args: dict[str, Any] = {"query_embeddings": [vector.tolist()], "include": ["distances"]}
        if mask is None:
            args["n_results"] = depth
        else:
            allowed = np.flatnonzero(mask)
            if allowed.size == 0:
                return hits
            need = math.ceil(depth * keywords.size / allowed.size * 1.5)
            if need <= OVERFETCH_MAX:
                args["n_results"] = need
            elif allowed.size <= IDS_MAX:
                args.update(n_results=min(depth, int(allowed.size)), ids=[keywords.ids[r] for r in allowed])
            else:
                args.update(n_results=depth, where=chroma_where(filters))
        got = self.store.chunks.query(**args)
        ids, distances = got["ids"][0], got["distances"][0]
        unknown = [cid for cid in ids if cid not in keywords.row]  # written after the snapshot: filter by metadata
        extra: dict[str, Passage] = {}
        if unknown:
            fetched = self.store.chunks.get(ids=unknown, include=["documents", "metadatas"])
            extra = {cid: to_passage(cid, doc or "", meta or {}, 0.0) for cid, doc, meta in
                     zip(fetched["ids"], fetched["documents"], fetched["metadatas"]) if allows(filters, meta or {})}
        for cid, distance in zip(ids, distances):
            if len(hits.ids) >= depth:
                break
            row = keywords.row.get(cid)
            if row is not None:
                if mask is None or mask[row]:
                    hits.add(cid, 1.0 - float(distance))
            elif cid in extra:
                hits.add(cid, 1.0 - float(distance), extra[cid])
        return hits

    def _embed(self, query: str) -> np.ndarray:
        return np.asarray(self.embedder.embed([query])[0], dtype=np.float32)

    def _cosines(self, vector: np.ndarray, chunk_ids: list[str]) -> dict[str, float]:
        """Dense similarity of keyword-only candidates, so both halves score every candidate."""
        if not chunk_ids:
            return {}
        got = self.store.chunks.get(ids=chunk_ids, include=["embeddings"])
        if not len(got["ids"]):  # a sync replaced those passages since the keyword index was built
            return {}
        vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
        return dict(zip(got["ids"], (vectors @ vector).tolist()))

    def _fuse(self, dense: DenseHits | None, lexical: LexicalHits, keywords: KeywordIndex
              ) -> list[tuple[str, float]]:
        """Candidate ids with their fused scores, best first."""
        settings = self.settings
        if dense is None:
            return lexical.ranked
        candidates = list(dict.fromkeys([*dense.ids, *(cid for cid, _ in lexical.ranked)]))
        if settings.fusion == "rrf":
            fused: dict[str, float] = {}
            for rank, cid in enumerate(dense.ids, 1):
                fused[cid] = settings.dense_weight / (settings.rrf_k + rank)
            for rank, (cid, _) in enumerate(lexical.ranked, 1):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (settings.rrf_k + rank)
        else:
            best_cosine = max(dense.cosine.values(), default=0.0)
            dense_scale = settings.dense_weight / best_cosine if best_cosine > 0 else 0.0
            missing = [cid for cid in candidates if cid not in dense.cosine] if dense_scale else []
            cosine = {**self._cosines(dense.vector, missing), **dense.cosine}
            keyword_scale = 1.0 / lexical.best if lexical.best > 0 else 0.0
            fused = {
                cid: keyword_scale * keywords.score_of(cid, lexical.scores)
                + dense_scale * max(cosine.get(cid, 0.0), 0.0)
                for cid in candidates
            }
        return sorted(((cid, fused[cid]) for cid in candidates), key=lambda pair: -pair[1])

    def _refresh_in_background(self, generation: int) -> None:
        with self._builder_lock:
            if self._builder is not None and self._builder.is_alive():
                return

            def build() -> None:
                try:
                    self.refresh(generation)
                except Exception:  # a failed rebuild leaves the old snapshot serving; the next query retries
                    log.exception("rebuilding the keyword index failed")

            self._builder = threading.Thread(target=build, name="newsdesk-bm25", daemon=True)
            self._builder.start()


@dataclass
class DenseHits:
    vector: np.ndarray
    ids: list[str]
    """Best first."""
    cosine: dict[str, float]
    passages: dict[str, Passage]
    """The hits already read from Chroma (all of them in dense-only mode), so they are not read twice."""

    def add(self, chunk_id: str, cosine: float, passage: Passage | None = None) -> None:
        self.ids.append(chunk_id)
        self.cosine[chunk_id] = cosine
        if passage is not None:
            self.passages[chunk_id] = passage


@dataclass
class LexicalHits:
    ranked: list[tuple[str, float]]
    """Chunk ids and BM25 scores, best first."""
    scores: np.ndarray
    """BM25 score of every snapshot row (after filters): fusion reads dense candidates' keyword scores here."""
    best: float


class KeywordIndex:
    """An immutable BM25 snapshot of the committed passages of one store generation.

    Only what ranking and filtering read per passage: ids, dates, sources and the BM25 matrix (about 1 KB a
    passage); texts and metadata stay in Chroma."""

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
        committed = {rid: r.version for rid, r in store.records().items() if r.version}
        ids: list[str] = []
        texts: list[str] = []
        dates: list[int] = []
        sources: list[str] = []
        offset = 0
        while True:
            got = store.chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                meta = meta or {}
                if committed.get(str(meta.get("article_id", ""))) == meta.get("version"):
                    ids.append(cid)
                    texts.append(keyword_text(text or "", meta))
                    dates.append(int(meta.get("date") or 0))
                    sources.append(str(meta.get("source", "")))
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        index = cls(generation, ids, texts, dates, sources)
        log.info("keyword index: %d passages, generation %d, built in %.1f s", len(ids), generation,
                 time.perf_counter() - started)
        return index

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """1.0 for rows the filters allow, 0.0 elsewhere (same rules as ``chroma_where``)."""
        if not filters:
            return None
        keep = np.ones(self.size, dtype=bool)
        if filters.since or filters.until:
            keep &= self.dates > 0
        if filters.since:
            keep &= self.dates >= date_number(filters.since.isoformat())
        if filters.until:
            keep &= self.dates <= date_number(filters.until.isoformat())
        if filters.sources:
            wanted = [i for i, name in enumerate(self.source_names) if name in set(filters.sources)]
            keep &= np.isin(self.source_codes, wanted)
        return keep.astype(np.float32)

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


def allows(filters: Filters | None, meta: dict[str, Any]) -> bool:
    """The filters applied to one passage's metadata (same rules as ``chroma_where``)."""
    if not filters:
        return True
    day = int(meta.get("date") or 0)
    if (filters.since or filters.until) and day <= 0:
        return False
    if filters.since and day < date_number(filters.since.isoformat()):
        return False
    if filters.until and day > date_number(filters.until.isoformat()):
        return False
    return not filters.sources or str(meta.get("source", "")) in filters.sources


def keyword_text(text: str, meta: dict[str, Any]) -> str:
    """What BM25 indexes for a passage: the headline too, so a name only the headline carries still matches."""
    title = str(meta.get("title", ""))
    return f"{title}\n{text}" if title else text


def metadata_filters(filters: Filters | None) -> MetadataFilters | None:
    """The filters for the dense half, as llama-index filters (``ChromaVectorStore`` turns them into ``where``)."""
    where = chroma_where(filters)
    if where is None:
        return None
    clauses = where.get("$and", [where])
    ops = {"$gte": FilterOperator.GTE, "$lte": FilterOperator.LTE, "$gt": FilterOperator.GT,
           "$in": FilterOperator.IN}
    out = []
    for clause in clauses:
        ((key, cond),) = clause.items()
        ((op, value),) = cond.items()
        out.append(MetadataFilter(key=key, value=value, operator=ops[op]))
    return MetadataFilters(filters=out)


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """Publication date range (inclusive; articles without a date never match a date filter) and sources."""
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.since:
        clauses.append({"date": {"$gte": date_number(filters.since.isoformat())}})
    if filters.until:
        clauses.append({"date": {"$lte": date_number(filters.until.isoformat())}})
        if not filters.since:
            clauses.append({"date": {"$gt": 0}})
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def to_passage(chunk_id: str, text: str, meta: dict[str, Any], score: float) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        published=str(meta.get("published") or "") or None,
        url=str(meta.get("url") or "") or None,
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=float(score),
        origin=str(meta.get("origin", "")),
    )


def _with_score(passage: Passage, score: float) -> Passage:
    return replace(passage, score=float(score))

