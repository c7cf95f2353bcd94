"""Opening a store: the Chroma client and the three collections, one shared connection per on-disk store per process.

The only module that imports chromadb; ``Store`` is the only code that touches the collections.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock

from index.settings import IndexSettings


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says why and what to do."""


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


class Connection:
    """A client of one store with its collections, and the store's write stamp as of the view it holds."""

    def __init__(self, settings: IndexSettings, client: Any = None) -> None:
        self.settings = settings
        self.shared = client is None and not settings.chroma_host
        """An on-disk store this process opened itself: other processes may write to it behind Chroma's back."""
        self.lock = threading.Lock()
        """Held while the stamp is read or moved, so a thread never mistakes this process's write for another's."""
        if client is None:
            self.client, self.chunks, self.articles, self.fingerprints = _open(settings)
        else:
            self.client = client
            self.chunks, self.articles, self.fingerprints = _collections(client, settings)
        self.stamp: int | None = None

    def reopen(self) -> None:
        # Chroma hands out one cached System per path: forgetting it makes the new client load the store from disk.
        # The old client is left to the garbage collector, not closed: a search on another thread may still use it.
        SharedSystemClient.clear_system_cache()
        self.client, self.chunks, self.articles, self.fingerprints = _open(self.settings)

    def recreate_fingerprints(self) -> None:
        """Drop the fingerprints collection and start an empty one (a new fingerprint scheme)."""
        self.client.delete_collection(self.fingerprints.name)
        self.fingerprints = _fingerprints(self.client, self.settings)


_CONNECTIONS: dict[str, Connection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def shared_connection(settings: IndexSettings) -> Connection:
    """One connection per on-disk store per process, shared by all its ``Store`` objects (the web app has several),
    so one reopen moves them all: two Chroma clients of one path in one process would go stale on each other."""
    key = str(settings.chroma_path.resolve())
    with _CONNECTIONS_LOCK:
        if key not in _CONNECTIONS:
            _CONNECTIONS[key] = Connection(settings)
        return _CONNECTIONS[key]


def _open(settings: IndexSettings) -> tuple[Any, Any, Any, Any]:
    with _opening_lock(settings):
        client = make_client(settings)
        return client, *_collections(client, settings)  # the collections are created under the lock too


def _collections(client: Any, settings: IndexSettings) -> tuple[Any, Any, Any]:
    """The passages, the manifest and the articles' fingerprints (story grouping), created if missing."""
    chunks = client.get_or_create_collection(f"{settings.collection}_chunks", embedding_function=None,
                                             configuration={"hnsw": {"space": "cosine"}})
    articles = client.get_or_create_collection(f"{settings.collection}_articles", embedding_function=None)
    return chunks, articles, _fingerprints(client, settings)


def _fingerprints(client: Any, settings: IndexSettings) -> Any:
    return client.get_or_create_collection(f"{settings.collection}_fingerprints", embedding_function=None,
                                           configuration={"hnsw": {"space": "cosine"}})
