"""The Chroma store: passages with their vectors, a manifest of articles, and the articles' fingerprints.

Three collections: ``<name>_chunks`` holds one record per passage (text, vector, span and article metadata),
``<name>_articles`` one record per article (content hash, committed ``version``, ``pending`` version, ``story``) and
``<name>_fingerprints`` one record per article version (near-duplicate fingerprint, see ``fingerprints.py``).
Keeping all of it in Chroma means a Chroma server carries the whole state, so several machines can share it.

Crash safety rests on one rule: a passage or fingerprint is visible only when its ``version`` equals the committed
version of its article. A sync marks the new version pending, writes the passages and fingerprint, commits the
article record (one record, so the switch is atomic), then deletes the old version. A run killed anywhere leaves at
worst invisible orphans, which the next run finds through the pending marks and removes.

Story groups are a label on the manifest records (``story``), not on passages: an article's group changes when
*other* articles arrive or leave, and relabelling a few manifest records is cheaper than rewriting their passages.
A change that relabels more than the one record being committed is announced first (``begin_regroup``: the stories
and articles involved, in the manifest's collection metadata, one write) and cleared when done; a run killed in
between leaves the announcement, and the next run regroups exactly those (``index.pipeline.stories``).

Several processes may use one on-disk store (the web app, `newsdesk index` in a terminal, a watcher). Chroma caches
a store's vector index per process and never notices another process's writes: that process's queries miss the new
passages, fail on their ids ("Error finding id"), and its next write saves its stale index over the other's
(chroma-core/chroma#3792; measured here, 768 of 4,500 vectors lost). So every write is stamped: a writer bumps a
counter in the store before and after writing (``Store.writing``), and a process that finds the counter moved by
someone else reopens the store, which reloads it from disk (``Store.catch_up``). A Chroma server needs none of it.
"""

from __future__ import annotations

import json
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
from index.store.fingerprints import (
    Fingerprint,
    StoredFingerprint,
    fingerprint_from,
    fingerprint_id,
    fingerprint_meta,
)
from index.store.passages import Passage, article_key, chunk_version, passage_from
from index.store.records import ArticleRecord, StoryMember

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

    @property
    def fingerprint_records(self) -> Any:
        """The raw fingerprints collection (see ``chunks``)."""
        return self._connection.fingerprints

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
        self._upsert_records([(r.article_id, r.to_meta()) for r in records])

    def mark_pending(self, records: Iterable[ArticleRecord]) -> None:
        """``put_records`` for pending marks, except that a stored record keeps its ``story``: the caller's copy may
        predate a regrouping earlier in the run (Chroma merges the keys written into those stored)."""
        self._upsert_records([(r.article_id, {k: v for k, v in r.to_meta().items() if k != "story"}) for r in records])

    def _upsert_records(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        for at in range(0, len(rows), PAGE):
            part = rows[at:at + PAGE]
            self.articles.upsert(ids=[rid for rid, _ in part], embeddings=[[0.0]] * len(part),
                                 metadatas=[meta for _, meta in part])

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
        """An article version's passages and fingerprint."""
        if version:
            self.chunks.delete(where={"$and": [{"article_id": article_id}, {"version": version}]})
            self.fingerprint_records.delete(ids=[fingerprint_id(article_id, version)])

    def delete_article(self, article_id: str) -> None:
        self.chunks.delete(where={"article_id": article_id})
        self.fingerprint_records.delete(where={"article_id": article_id})
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

    def article_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Committed articles' texts as their passages hold them (spans laid back in place; whitespace between
        passages, if any, becomes one space): for fingerprinting articles stored before fingerprints existed."""
        versions = {rid: r.version for rid, r in self.records_for(article_ids).items() if r.version}
        spans: dict[str, list[tuple[int, int, str]]] = {}
        if versions:
            got = self.chunks.get(where={"article_id": {"$in": list(versions)}}, include=["documents", "metadatas"])
            for text, meta in zip(got["documents"], got["metadatas"]):
                meta = meta or {}
                rid = str(meta.get("article_id", ""))
                if versions.get(rid) == meta.get("version"):
                    spans.setdefault(rid, []).append((int(meta.get("start", 0)), int(meta.get("end", 0)), text or ""))
        texts: dict[str, str] = {}
        for rid, parts in spans.items():
            out, cursor = [], 0
            for start, end, text in sorted(parts):
                if end <= cursor:
                    continue
                gap = " " if out and start > cursor else ""
                out.append(text[cursor - start:] if start < cursor else gap + text)
                cursor = end
            texts[rid] = "".join(out)
        return texts

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
        """``passages`` without those of versions not (or no longer) committed (see the module docstring), each
        with its article's ``story`` (read from the same manifest records)."""
        records = self.records_for([p.article_id for p in passages])
        return [replace(p, story=records[p.article_id].story or article_key(p.article_id)) for p in passages
                if p.article_id in records and records[p.article_id].version == chunk_version(p.chunk_id)]

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

    # -- story groups (see the module docstring; the grouping itself: index.pipeline.stories) -------------------

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The story id of each committed article among ``article_ids`` (one read by id). An article stored before
        story grouping existed, not yet grouped, is a story of its own (an id ``story_members`` knows nothing of)."""
        return {rid: r.story or article_key(rid) for rid, r in self.records_for(article_ids).items() if r.version}

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[StoryMember]]:
        """The committed articles of each story, earliest published first (undated last): the first is the story's
        representative. One indexed read, ~11 ms for 10 stories among 20k articles; no scan."""
        members: dict[str, list[StoryMember]] = {}
        for record in sorted(self.story_records(story_ids), key=publication_order):
            members.setdefault(record.story, []).append(record.member())
        return members

    def story_records(self, story_ids: Iterable[str]) -> list[ArticleRecord]:
        """Manifest records of the committed articles labelled with any of ``story_ids``."""
        wanted = sorted({s for s in story_ids if s})
        found: list[ArticleRecord] = []
        for at in range(0, len(wanted), 500):
            where = {"story": {"$in": wanted[at:at + 500]}}
            found.extend(ArticleRecord.from_meta(rid, meta) for rid, meta in self._scan(self.articles, where))
        return [r for r in found if r.version]

    def relabel(self, stories: dict[str, str]) -> None:
        """Move articles (id -> story id) to other stories: only that key of their records is written."""
        rows = list(stories.items())
        for at in range(0, len(rows), PAGE):
            part = rows[at:at + PAGE]
            self.articles.update(ids=[rid for rid, _ in part], metadatas=[{"story": story} for _, story in part])

    def put_fingerprints(self, rows: Sequence[tuple[str, str, Fingerprint]]) -> None:
        """(article id, version, fingerprint) rows, written like that version's passages."""
        for at in range(0, len(rows), PAGE):
            part = rows[at:at + PAGE]
            self.fingerprint_records.upsert(
                ids=[fingerprint_id(rid, version) for rid, version, _ in part],
                embeddings=np.stack([f.vector for _, _, f in part]),
                metadatas=[fingerprint_meta(rid, version, f) for rid, version, f in part],
            )

    def similar(self, vectors: Sequence[np.ndarray], n: int) -> list[list[StoredFingerprint]]:
        """For each vector, the ``n`` stored fingerprints nearest it (any version: callers keep committed ones).
        One nearest-neighbour query for all. Measured for a batch of 30 among 20k fingerprints: 10-17 ms; the
        alternative, LSH band keys as metadata found by a 32-clause ``where`` ``$or``, took 46-63 ms and grew with
        the collection (3-8 ms at 1k); reading 5,000 of its 36-key records took 2.7 s."""
        if not vectors:
            return []
        got = self.fingerprint_records.query(query_embeddings=np.stack(vectors), n_results=n, include=["metadatas"])
        return [[fingerprint_from(meta or {}) for meta in metas] for metas in got["metadatas"]]

    def fingerprints(self, versions: Sequence[tuple[str, str]]) -> dict[str, Fingerprint]:
        """Stored fingerprints of (article id, version) pairs, by article id; missing ones are left out."""
        if not versions:
            return {}
        got = self.fingerprint_records.get(ids=[fingerprint_id(rid, v) for rid, v in versions], include=["metadatas"])
        found = (fingerprint_from(meta or {}) for meta in got["metadatas"])
        return {f.article_id: f.fingerprint for f in found}

    @property
    def fingerprint_scheme(self) -> str | None:
        return self._meta(self.fingerprint_records).get("scheme")

    def reset_fingerprints(self, scheme: str) -> None:
        """Start over with fingerprints of another scheme: drop them all and unlabel every article (the next sync
        groups them again). Re-run whole if interrupted: the scheme is recorded last."""
        self._connection.recreate_fingerprints()
        unlabelled = [rid for rid, meta in self._scan(self.articles) if meta.get("story")]
        self.relabel(dict.fromkeys(unlabelled, ""))
        self._set_meta(self.fingerprint_records, scheme=scheme)

    def set_fingerprint_scheme(self, scheme: str) -> None:
        self._set_meta(self.fingerprint_records, scheme=scheme)

    @property
    def regrouping(self) -> tuple[list[str], list[str]] | None:
        """The stories and articles of a regrouping begun and not finished (a killed run), if any."""
        raw = self._meta(self.articles).get("regrouping")
        if not raw:
            return None
        pending = json.loads(raw)
        return list(pending["stories"]), list(pending["articles"])

    def begin_regroup(self, stories: Iterable[str], article_ids: Iterable[str]) -> None:
        self._set_meta(self.articles, regrouping=json.dumps({"stories": sorted(set(stories) - {""}),
                                                             "articles": sorted(set(article_ids))}))

    def end_regroup(self) -> None:
        self._set_meta(self.articles, regrouping="")

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


def publication_order(record: ArticleRecord) -> tuple[bool, str, str]:
    """Earliest published first, undated last, then by id: the order of a story's members."""
    return (not record.published, record.published, record.article_id)
