"""The Chroma store: passages with their vectors, and a manifest of articles beside them.

Two collections: ``<name>_chunks`` holds one record per passage (text, vector, span and article metadata) and
``<name>_articles`` holds one record per article (content hash, committed ``version``, ``pending`` version).
Keeping the manifest in Chroma means a Chroma server carries the whole state, so several machines can share it.

Crash safety rests on one rule: a passage is visible only when its ``version`` equals the committed version of
its article. A sync marks the new version pending, writes the passages, commits the article record (one record,
so the switch is atomic), then deletes the old passages. A run killed anywhere leaves at worst invisible orphans,
which the next run finds through the pending marks and removes.

Several processes may use one on-disk store (the web app, `newsdesk index` in a terminal, a watcher). Chroma caches
a store's vector index per process and never notices another process's writes: that process's queries miss the new
passages, fail on their ids ("Error finding id"), and its next write saves its stale index over the other's
(chroma-core/chroma#3792; measured here, 768 of 4,500 vectors lost). So every write is stamped: a writer bumps a
counter in the store before and after writing (``Store.writing``), and a process that finds the counter moved by
someone else reopens the store, which reloads it from disk (``Store.catch_up``). A Chroma server needs none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from index.settings import IndexSettings
from index.store.connection import Connection, StoreError, shared_connection
from index.store.filters import Filters
from index.store.passages import Passage, chunk_version, passage_from
from index.store.records import ArticleRecord

log = logging.getLogger(__name__)

PAGE = 5000
"""Rows per Chroma get/upsert call: under every Chroma version's maximum batch size."""


class Store:
    """The passage repository. ``search``-side callers use ``nearest``, ``passages``, ``committed``, ``vectors``,
    ``scan_passages``; the sync uses the manifest and the writes, always inside ``writing()``."""

    def __init__(self, settings: IndexSettings, client: Any = None) -> None:
        self.settings = settings
        shared = client is None and not settings.chroma_host
        self._connection = shared_connection(settings) if shared else Connection(settings, client)
        if shared:
            with self._connection.lock:
                if self._connection.stamp is None:  # read before any vector is loaded: the view is at least this new
                    self._connection.stamp = self._stamp_on_disk()

    @property
    def client(self) -> Any:
        return self._connection.client

    @property
    def chunks(self) -> Any:
        """The raw passages collection: for the methods below, and for tests checking exactly what was written."""
        return self._connection.chunks

    @property
    def articles(self) -> Any:
        """The raw manifest collection (see ``chunks``)."""
        return self._connection.articles

    # -- other processes' writes (see the module docstring) -----------------------------------------------------

    def catch_up(self) -> bool:
        """Reload the store from disk if another process wrote to it since this process last looked; True if so.
        Readers call it before a search, writers before writing."""
        connection = self._connection
        if not connection.shared:
            return False
        with connection.lock:
            stamp = self._stamp_on_disk()
            if stamp == connection.stamp:
                return False
            log.info("another process wrote to %s: reloading it", self.location)
            connection.reopen()
            connection.stamp = stamp
        return True

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around every write (the caller holds the index lock): catch up first, then stamp before and after."""
        self.catch_up()
        self._bump_stamp()
        try:
            yield
        finally:
            self._bump_stamp()

    def _bump_stamp(self) -> None:
        connection = self._connection
        if not connection.shared:
            return
        with connection.lock:
            stamp = self._stamp_on_disk() + 1
            self._set_meta(self.articles, writes=stamp)
            connection.stamp = stamp

    def _stamp_on_disk(self) -> int:
        return int(self._meta(self.articles).get("writes", 0))

    @property
    def location(self) -> str:
        if self.settings.chroma_host:
            return f"chroma server http://{self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.chroma_path)

    # -- the embedding model the vectors belong to --------------------------------------------------------------

    @property
    def embed_model(self) -> str | None:
        return self._meta(self.chunks).get("embed_model")

    def check_model(self, model_id: str) -> None:
        """Refuse to mix vectors of two models in one store."""
        current = self.embed_model
        if current is None and self.chunks.count() == 0:
            self._set_meta(self.chunks, embed_model=model_id)
        elif current is not None and current != model_id:
            raise StoreError(
                f"this store ({self.location}) was indexed with embedding model '{current}', not '{model_id}'. "
                f"Set NEWSDESK_EMBED_MODEL to '{current}', or index your articles with the new model into another "
                f"NEWSDESK_HOME (or another NEWSDESK_COLLECTION)."
            )

    # -- manifest ---------------------------------------------------------------------------------------------

    def records(self) -> dict[str, ArticleRecord]:
        return {rid: ArticleRecord.from_meta(rid, meta) for rid, meta in self._scan(self.articles)}

    def records_for(self, article_ids: Sequence[str]) -> dict[str, ArticleRecord]:
        if not article_ids:
            return {}
        got = self.articles.get(ids=list(dict.fromkeys(article_ids)), include=["metadatas"])
        return {rid: ArticleRecord.from_meta(rid, meta or {}) for rid, meta in zip(got["ids"], got["metadatas"])}

    def put_records(self, records: Iterable[ArticleRecord]) -> None:
        batch = list(records)
        for at in range(0, len(batch), PAGE):
            part = batch[at:at + PAGE]
            self.articles.upsert(ids=[r.article_id for r in part], embeddings=[[0.0]] * len(part),
                                 metadatas=[r.to_meta() for r in part])

    def _pages(self, collection: Any, include: list[str],
               where: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            got = collection.get(include=include, where=where, limit=PAGE, offset=offset)
            yield got
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def _scan(self, collection: Any, where: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        for got in self._pages(collection, ["metadatas"], where):
            for rid, meta in zip(got["ids"], got["metadatas"]):
                yield rid, meta or {}

    # -- writing passages -------------------------------------------------------------------------------------

    def put_chunks(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict[str, Any]]) -> None:
        """``ids`` from ``chunk_id`` and ``metas`` from ``passage_meta``."""
        for at in range(0, len(ids), PAGE):
            self.chunks.upsert(ids=ids[at:at + PAGE], embeddings=vectors[at:at + PAGE],
                               documents=texts[at:at + PAGE], metadatas=metas[at:at + PAGE])

    def delete_version(self, article_id: str, version: str) -> None:
        if version:
            self.chunks.delete(where={"$and": [{"article_id": article_id}, {"version": version}]})

    def delete_article(self, article_id: str) -> None:
        self.chunks.delete(where={"article_id": article_id})
        self.articles.delete(ids=[article_id])

    def vectors_by_hash(self, chunk_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by passage hash: an edited or moved article re-embeds only what changed."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(chunk_hashes))
        for at in range(0, len(unique), 500):
            got = self.chunks.get(where={"chunk_hash": {"$in": unique[at:at + 500]}},
                                  include=["metadatas", "embeddings"])
            for meta, vector in zip(got["metadatas"], got["embeddings"]):
                found[str(meta["chunk_hash"])] = np.asarray(vector, dtype=np.float32)
        return found

    def recover(self) -> int:
        """Remove passages of versions that were written but never committed (a killed run). Returns articles."""
        marked = self._scan(self.articles, where={"pending": {"$ne": ""}})
        pending = [ArticleRecord.from_meta(rid, meta) for rid, meta in marked]
        for record in pending:
            if record.pending != record.version:
                self.delete_version(record.article_id, record.pending)
            if record.version:
                self.put_records([replace(record, pending="")])
            else:
                self.articles.delete(ids=[record.article_id])
        return len(pending)

    # -- reading passages -------------------------------------------------------------------------------------

    def nearest(self, vector: np.ndarray, n: int, *, ids: Sequence[str] | None = None,
                filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ``n`` passages nearest ``vector`` with their cosine distances, nearest first: among ``ids`` only
        when given, and only those ``filters`` admit (Chroma's ``where``: 50-270 ms at 50k passages, measured by
        bench/query_speed.py; the dense retriever avoids it when it can). Uncommitted passages included."""
        args: dict[str, Any] = {"query_embeddings": [vector.tolist()], "n_results": n, "include": ["distances"]}
        if ids is not None:
            args["ids"] = list(ids)
        where = filters.where() if filters else None
        if where is not None:
            args["where"] = where
        got = self.chunks.query(**args)
        return list(zip(got["ids"][0], got["distances"][0]))

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        """Stored passages by id (score 0), uncommitted ones included (see ``committed``); ids no longer stored
        (a sync deleted them) are missing."""
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {cid: passage_from(cid, text or "", meta or {})
                for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}

    def committed(self, passages: list[Passage]) -> list[Passage]:
        """``passages`` without those of versions not (or no longer) committed (see the module docstring)."""
        records = self.records_for([p.article_id for p in passages])
        versions = {rid: r.version for rid, r in records.items()}
        return [p for p in passages if versions.get(p.article_id) == chunk_version(p.chunk_id)]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by passage id; ids no longer stored are missing."""
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["embeddings"])
        return {cid: np.asarray(vector, dtype=np.float32) for cid, vector in zip(got["ids"], got["embeddings"])}

    def scan_passages(self) -> Iterator[Passage]:
        """Every passage of a committed version, read ``PAGE`` at a time (what the keyword index is built from)."""
        committed = {rid: r.version for rid, r in self.records().items() if r.version}
        for got in self._pages(self.chunks, ["documents", "metadatas"]):
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                meta = meta or {}
                if committed.get(str(meta.get("article_id", ""))) == meta.get("version"):
                    yield passage_from(cid, text or "", meta)

    # -- bookkeeping ------------------------------------------------------------------------------------------

    def mark_synced(self) -> None:
        meta = self._meta(self.articles)
        self._set_meta(self.articles, generation=int(meta.get("generation", 0)) + 1,
                       last_sync=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def generation(self) -> int:
        """Bumped by every sync that changed something: readers refresh their keyword index on a new value."""
        return int(self._meta(self.articles).get("generation", 0))

    @property
    def last_sync(self) -> str | None:
        return self._meta(self.articles).get("last_sync")

    def _meta(self, collection: Any) -> dict[str, Any]:
        """Collection metadata as stored now: the cached copy is stale once another process or client wrote it."""
        return dict(self.client.get_collection(collection.name).metadata or {})

    def _set_meta(self, collection: Any, **values: Any) -> None:
        merged = {k: v for k, v in self._meta(collection).items() if not k.startswith("hnsw:")}
        merged.update(values)
        collection.modify(metadata=merged)

    def counts(self) -> tuple[int, int]:
        """Articles (manifest records, uncommitted ones included) and passages stored."""
        return self.articles.count(), self.chunks.count()
