"""Writing a sync's new and changed articles, in batches: mark pending, embed, write passages and fingerprints,
place them in stories, commit, drop old.

The order is what makes an interrupted run harmless (see ``index.store.store``). Embedding reuses stored vectors of
identical passages, so an edited headline or an appended paragraph re-embeds one or two passages, a moved file none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np

from index.article import Article
from index.pipeline.chunking import Chunk
from index.pipeline.embedding import Embedder
from index.pipeline.report import ItemResult, SyncReport
from index.pipeline.stories import Arrival, Stories
from index.store import ArticleRecord, Store, chunk_id, passage_meta

FLUSH_CHUNKS = 256
"""Passages embedded and written per round trip: large enough to batch well, small enough to stream."""


@dataclass
class Pending:
    article: Article
    record: ArticleRecord
    """The record as committed after this write."""
    old: ArticleRecord | None
    chunks: list[Chunk]
    status: str
    """added or updated, as against the store when the run started."""


class Writer:
    """The articles of one sync waiting to be written, and the writing. ``written`` hears of each article stored."""

    def __init__(self, store: Store, embedder: Embedder, stories: Stories, report: SyncReport, upcoming: set[str],
                 written: Callable[[Pending], None]) -> None:
        self.store = store
        self.embedder = embedder
        self.stories = stories
        self.report = report
        self.written = written
        self.queue: list[Pending] = []
        self.queued_chunks = 0
        self.upcoming = upcoming
        """Files of this sync not loaded yet."""
        self.held: list[Pending] = []
        """Articles to be written over a stored version from a file still to come, which may carry the same id with
        the text stored now (two files sharing a url): written once that file is done, not before."""

    def add(self, pending: Pending, stored: ArticleRecord | None) -> None:
        """Queue an article; ``stored``: the record it replaces, whose file may still be to come."""
        if stored and stored.origin != pending.article.origin and stored.origin in self.upcoming:
            self.held.append(pending)
        else:
            self._enqueue(pending)

    def find(self, article_id: str) -> Pending | None:
        """The article with this id waiting to be written, if any."""
        return next((p for p in (*self.queue, *self.held) if p.article.article_id == article_id), None)

    def drop(self, pending: Pending) -> None:
        """Forget an article waiting to be written (a later one with its id replaces it)."""
        if any(p is pending for p in self.held):
            self.held = [p for p in self.held if p is not pending]
        else:
            self.queue = [p for p in self.queue if p is not pending]
            self.queued_chunks -= len(pending.chunks)

    def _enqueue(self, pending: Pending) -> None:
        self.queue.append(pending)
        self.queued_chunks += len(pending.chunks)
        if self.queued_chunks >= FLUSH_CHUNKS:
            self.flush()

    def done_with(self, origin: str) -> None:
        """A file's articles have all been offered: what waited for it (``held``) can be written."""
        self.upcoming.discard(origin)
        waiting = [p for p in self.held if p.old and p.old.origin == origin]
        if waiting:
            self.held = [p for p in self.held if not (p.old and p.old.origin == origin)]
            for pending in waiting:
                self._enqueue(pending)

    def flush(self, final: bool = False) -> None:
        """Write the queued articles (``final``: and the held ones)."""
        if final:
            self.queue.extend(self.held)
            self.held = []
        if not self.queue:
            return
        batch, self.queue, self.queued_chunks = self.queue, [], 0
        store = self.store
        store.mark_pending(
            replace(p.old or replace(p.record, version=""), pending=p.record.version) for p in batch
        )
        chunks = [(p, c) for p in batch for c in p.chunks]
        vectors = self._vectors([c for _, c in chunks])
        indexed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        store.put_chunks(
            ids=[chunk_id(p.record.article_id, p.record.version, c.index) for p, c in chunks],
            vectors=vectors,
            texts=[c.text for _, c in chunks],
            metas=[_meta(p, c, indexed_at) for p, c in chunks],
        )
        prints = [self.stories.fingerprint(p.article.text) for p in batch]
        placement = self.stories.place([Arrival(p.record, f, p.old is not None) for p, f in zip(batch, prints)])
        store.put_fingerprints([(p.record.article_id, p.record.version, f) for p, f in zip(batch, prints)])
        for p in batch:
            p.record = replace(p.record, story=placement.labels[p.record.article_id])
        with self.stories.applying(placement):
            store.put_records(replace(p.record, pending=p.old.version if p.old else "") for p in batch)
            store.relabel(placement.relabels)
            replaced = [p for p in batch if p.old and p.old.version != p.record.version]
            for p in replaced:
                store.delete_version(p.record.article_id, p.old.version)  # type: ignore[union-attr]
            if replaced:
                store.put_records(p.record for p in replaced)
        for p in batch:  # records are not kept: the run's `seen` protects them, and 100k records weigh 100 MB
            setattr(self.report, p.status, getattr(self.report, p.status) + 1)
            self.report.note(ItemResult(p.article.location, p.article.title, p.status))
            self.written(p)
        self.report.chunks_written += len(chunks)

    def _vectors(self, chunks: list[Chunk]) -> np.ndarray:
        hashes = [c.chunk_hash for c in chunks]
        known = self.store.vectors_by_hash(hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in known))
        if missing:
            texts = {c.chunk_hash: c.embed_text for c in chunks}
            fresh = self.embedder.embed([texts[h] for h in missing])
            known.update(zip(missing, fresh))
            self.report.chunks_embedded += len(missing)
        return np.stack([known[h] for h in hashes])


def _meta(pending: Pending, chunk: Chunk, indexed_at: str) -> dict[str, object]:
    article = pending.article
    return passage_meta(
        article_id=article.article_id, version=pending.record.version, index=chunk.index, start=chunk.start,
        end=chunk.end, chunk_hash=chunk.chunk_hash, title=article.title, published=article.published,
        source=article.source, url=article.url, author=article.author, origin=article.origin, indexed_at=indexed_at,
    )
