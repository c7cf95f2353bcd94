"""Passage retrieval over the Chroma store.

Only passages of an article's committed version are returned (see ``index.store``): a half-written article is
never visible, even to a reader running while a sync writes.
"""

from __future__ import annotations

from typing import Any

from assistant.types import Filters, Passage
from index.embedding import Embedder
from index.settings import Settings
from index.store import Store, date_number


class Retriever:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        if not query.strip() or self.store.chunks.count() == 0:
            return []
        vector = self.embedder.embed([query])[0]
        got = self.store.chunks.query(query_embeddings=[vector], n_results=k * 2, where=chroma_where(filters),
                                      include=["documents", "metadatas", "distances"])
        rows = list(zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]))
        passages = [to_passage(cid, doc, meta, 1.0 - dist) for cid, doc, meta, dist in rows]
        return self.visible(passages)[:k]

    def visible(self, passages: list[Passage]) -> list[Passage]:
        """Drops passages of versions that are not (or no longer) committed."""
        records = self.store.records_for([p.article_id for p in passages])
        versions = {rid: r.version for rid, r in records.items()}
        return [p for p in passages if versions.get(p.article_id) == p.chunk_id.split(":")[1]]


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.since:
        clauses.append({"date": {"$gte": date_number(filters.since.isoformat())}})
    if filters.until:
        clauses.append({"date": {"$lte": date_number(filters.until.isoformat())}})
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
