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

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

import chromadb
import numpy as np
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock

from index.settings import IndexSettings

log = logging.getLogger(__name__)

PAGE = 5000
"""Rows per Chroma get/upsert call: under every Chroma version's maximum batch size."""


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)  # a sync holds one per stored article: slots save ~250 bytes each
class ArticleRecord:
    article_id: str
    content_hash: str
    text_hash: str
    """Whitespace- and case-insensitive hash of the text alone: the same story from two places."""
    version: str
    """Committed version; empty while the article's first version is still being written."""
    pending: str
    origin: str
    line: int
    n_chunks: int
    title: str
    source: str
    published: str
    url: str

    @classmethod
    def from_meta(cls, article_id: str, meta: dict[str, Any]) -> ArticleRecord:
        return cls(
            article_id=article_id,
            content_hash=str(meta.get("hash", "")),
            text_hash=str(meta.get("text_hash", "")),
            version=str(meta.get("version", "")),
            pending=str(meta.get("pending", "")),
            origin=str(meta.get("origin", "")),
            line=int(meta.get("line", -1)),
            n_chunks=int(meta.get("n_chunks", 0)),
            title=str(meta.get("title", "")),
            source=str(meta.get("source", "")),
            published=str(meta.get("published", "")),
            url=str(meta.get("url", "")),
        )

    def to_meta(self) -> dict[str, Any]:
        return {
            "hash": self.content_hash, "text_hash": self.text_hash, "version": self.version,
            "pending": self.pending, "origin": self.origin,
            "line": self.line, "n_chunks": self.n_chunks, "title": self.title, "source": self.source,
            "published": self.published, "url": self.url,
        }


def article_key(article_id: str) -> str:
    return hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:20]


def chunk_id(article_id: str, version: str, index: int) -> str:
    return f"{article_key(article_id)}:{version[:16]}:{index}"


def date_number(iso: str | None) -> int:
    """Publication date as YYYYMMDD: Chroma range filters compare numbers, not strings. 0 when unknown."""
    if not iso:
        return 0
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return 0
    return day.year * 10000 + day.month * 100 + day.day


def make_client(settings: IndexSettings) -> Any:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                             f"({exc})") from None
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _opening_lock(settings: IndexSettings) -> AbstractContextManager[Any]:
    """Serialise the first open of an on-disk store across processes.

    Chroma creates its SQLite tables on first open without guarding against a second process doing the same, so
    two processes starting on a fresh home at once crash one of them ("table collections already exists",
    "database is locked"). A server does its own serialising.
    """
    if settings.chroma_host:
        return nullcontext()
    settings.chroma_path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.chroma_path.with_name(settings.chroma_path.name + ".open.lock")))


class _Connection:
    """A client of one store with its two collections, and the store's write stamp as of the view it holds."""

    def __init__(self, settings: IndexSettings, client: Any = None) -> None:
        self.settings = settings
        self.shared = client is None and not settings.chroma_host
        """An on-disk store this process opened itself: other processes may write to it behind Chroma's back."""
        self.lock = threading.Lock()
        """Held while the stamp is read or moved, so a thread never mistakes this process's write for another's."""
        if client is None:
            self.client, self.chunks, self.articles = _open(settings)
        else:
            self.client = client
            self.chunks, self.articles = _collections(client, settings)
        self.stamp: int | None = None

    def reopen(self) -> None:
        # Chroma hands out one cached System per path: forgetting it makes the new client load the store from disk.
        # The old client is left to the garbage collector, not closed: a search on another thread may still use it.
        SharedSystemClient.clear_system_cache()
        self.client, self.chunks, self.articles = _open(self.settings)


_CONNECTIONS: dict[str, _Connection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _connection(settings: IndexSettings) -> _Connection:
    """One connection per on-disk store per process, shared by all its ``Store`` objects (the web app has several),
    so one reopen moves them all: two Chroma clients of one path in one process would go stale on each other."""
    key = str(settings.chroma_path.resolve())
    with _CONNECTIONS_LOCK:
        if key not in _CONNECTIONS:
            _CONNECTIONS[key] = _Connection(settings)
        return _CONNECTIONS[key]


def _open(settings: IndexSettings) -> tuple[Any, Any, Any]:
    with _opening_lock(settings):
        client = make_client(settings)
        return client, *_collections(client, settings)  # the collections are created under the lock too


def _collections(client: Any, settings: IndexSettings) -> tuple[Any, Any]:
    """The passages and the manifest, created if missing."""
    chunks = client.get_or_create_collection(f"{settings.collection}_chunks", embedding_function=None,
                                             configuration={"hnsw": {"space": "cosine"}})
    articles = client.get_or_create_collection(f"{settings.collection}_articles", embedding_function=None)
    return chunks, articles


class Store:
    def __init__(self, settings: IndexSettings, client: Any = None) -> None:
        self.settings = settings
        shared = client is None and not settings.chroma_host
        self._connection = _connection(settings) if shared else _Connection(settings, client)
        if shared:
            with self._connection.lock:
                if self._connection.stamp is None:  # read before any vector is loaded: the view is at least this new
                    self._connection.stamp = self._stamp_on_disk()

    @property
    def client(self) -> Any:
        return self._connection.client

    @property
    def chunks(self) -> Any:
        return self._connection.chunks

    @property
    def articles(self) -> Any:
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

    def _scan(self, collection: Any, include: list[str] | None = None,
              where: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            got = collection.get(include=include or ["metadatas"], where=where, limit=PAGE, offset=offset)
            for rid, meta in zip(got["ids"], got["metadatas"]):
                yield rid, meta or {}
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    # -- passages ---------------------------------------------------------------------------------------------

    def put_chunks(self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict[str, Any]]) -> None:
        for at in range(0, len(ids), PAGE):
            self.chunks.upsert(ids=ids[at:at + PAGE], embeddings=vectors[at:at + PAGE],
                               documents=texts[at:at + PAGE], metadatas=metas[at:at + PAGE])

    def delete_version(self, article_id: str, version: str) -> None:
        if version:
            self.chunks.delete(where={"$and": [{"article_id": article_id}, {"version": version}]})

    def delete_article(self, article_id: str) -> None:
        self.chunks.delete(where={"article_id": article_id})
        self.articles.delete(ids=[article_id])

    def vectors_for(self, chunk_hashes: Sequence[str]) -> dict[str, np.ndarray]:
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
        return self.articles.count(), self.chunks.count()

