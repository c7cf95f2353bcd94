"""Incremental sync: make the store match a set of sources, paying only for what changed.

Per article a content hash decides: unchanged articles cost nothing; new and changed ones are chunked and
embedded in batches, reusing stored vectors of identical passages (an edited headline or an appended paragraph
re-embeds one or two passages, a moved file none); articles gone from a synced folder or file are removed. See
``index.store`` for why an interrupted run never shows a half-indexed article.

Why not llama-index's IngestionPipeline with a docstore: its ``UPSERTS_AND_DELETE`` deletes every document not in
the current batch, so ``newsdesk index one-file.txt`` would empty the rest of the store; its docstore is a JSON
file rewritten whole, and its cache keys on whole batches rather than passages. The manifest here lives in Chroma
itself and is scoped per synced folder or file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from index.article import Article, Failure, Loaded
from index.chunking import Chunk, Chunker
from index.embedding import Embedder, make_embedder
from index.loaders import SUPPORTED, iter_files, load_file
from index.settings import Settings
from index.store import ArticleRecord, Store, chunk_id, date_number

log = logging.getLogger(__name__)

FLUSH_CHUNKS = 256
"""Passages embedded and written per round trip: large enough to batch well, small enough to stream."""


@dataclass(frozen=True, slots=True)
class ItemResult:
    location: str
    title: str
    status: str
    """added, updated, duplicate, removed or failed (unchanged articles are only counted)."""
    reason: str = ""


MAX_LISTED = 1000
"""Per-article rows a report keeps besides failures: a 100k-article index must not hold (or show) 100k rows."""


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)
    items: list[ItemResult] = field(default_factory=list)
    """What happened to each article: every failed file or article, then up to MAX_LISTED other changes;
    unchanged ones are only counted."""
    unlisted: int = 0
    """Changes past MAX_LISTED, counted but not listed."""
    chunks_written: int = 0
    chunks_embedded: int = 0
    """Passages that needed a model call (the rest reused stored vectors)."""
    seconds: float = 0.0
    _listed: int = field(default=0, repr=False)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def fail(self, failure: Failure, title: str = "") -> None:
        """A failed file or article: counted in ``failures`` and always listed."""
        self.failures.append(failure)
        self.note(ItemResult(failure.location, title, "failed", failure.reason))

    def note(self, item: ItemResult) -> None:
        """List one article's outcome (callers only count unchanged ones)."""
        if item.status != "failed":
            if self._listed >= MAX_LISTED:
                self.unlisted += 1
                return
            self._listed += 1
        self.items.append(item)

    def merge(self, other: SyncReport) -> None:
        for name in ("added", "updated", "unchanged", "removed", "duplicates", "unlisted", "chunks_written",
                     "chunks_embedded", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures)
        for item in other.items:
            self.note(item)

    def summary(self) -> str:
        line = (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"removed {self.removed}, failed {self.failed}")
        return line + (f" ({self.duplicates} duplicate{'s' * (self.duplicates != 1)} stored once)"
                       if self.duplicates else "")


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    articles: int
    chunks: int


ProgressFn = Callable[[Progress], None]


@dataclass
class _Pending:
    article: Article
    record: ArticleRecord
    """The record as committed after this write."""
    old: ArticleRecord | None
    chunks: list[Chunk]


class Indexer:
    """The one way anything gets into the store: CLI, web app, watcher and tests all call ``sync``."""

    def __init__(self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or make_embedder(settings)
        self.chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        self._lock = FileLock(str(_lock_path(settings)))

    # -- public API --------------------------------------------------------------------------------------------

    def sync(self, paths: Sequence[str | Path], progress: ProgressFn | None = None) -> SyncReport:
        """Index files and folders; remove what disappeared from the folders and files named."""
        report = SyncReport()
        files: list[str] = []  # strings, not Paths: a Path costs ~3x the memory and a big library has 100k of them
        scopes: list[str] = []
        for raw in paths:
            path = Path(raw).expanduser()
            if path.is_dir():
                files.extend(str(f) for f in iter_files(path) if f.suffix.lower() in SUPPORTED or not _ignorable(f))
                scopes.append(str(path.absolute()) + os.sep)
            elif path.is_file():
                files.append(str(path))
                scopes.append(str(path.absolute()))
            else:
                reason = "no such file or folder" if not path.exists() else "not a regular file or folder"
                report.failures.append(Failure(str(path.absolute()), reason))
        files = list(dict.fromkeys(files))

        def loads() -> Iterable[Loaded]:
            for f in files:
                yield load_file(Path(f), self.settings)

        return self._run(loads(), len(files), scopes, report, progress)

    def sync_articles(self, articles: Iterable[Article], progress: ProgressFn | None = None) -> SyncReport:
        """Index articles that come from elsewhere (feeds, URLs, uploads); removes nothing."""
        def loads() -> Iterable[Loaded]:
            for article in articles:
                yield Loaded(origin=article.origin, articles=[article])

        return self._run(loads(), 0, [], SyncReport(), progress)

    def remove(self, article_ids: Iterable[str]) -> int:
        with self._locked(), self.store.writing():
            ids = [a for a in article_ids if a]
            for article_id in ids:
                self.store.delete_article(article_id)
            if ids:
                self.store.mark_synced()
            return len(ids)

    # -- the run -----------------------------------------------------------------------------------------------

    def _run(self, loads: Iterable[Loaded], files_total: int, scopes: list[str], report: SyncReport,
             progress: ProgressFn | None) -> SyncReport:
        started = time.perf_counter()
        with self._locked(), self.store.writing():
            self.store.check_model(self.embedder.model_id)
            recovered = self.store.recover()
            if recovered:
                log.warning("finished cleaning up %d article(s) left half-written by an interrupted run", recovered)
            records = self.store.records()
            run = _Run(self, records, report)
            files_done = 0
            incomplete: set[str] = set()
            for loaded in loads:
                files_done += 1
                for failure in loaded.failures:
                    report.fail(failure)
                if not loaded.complete or loaded.failures:
                    incomplete.add(loaded.origin)
                for article in loaded.articles:
                    run.offer(article)
                if progress:
                    progress(Progress(files_done, files_total, run.articles_seen, report.chunks_written))
            run.flush()
            run.remove_missing(scopes, incomplete)
            if report.changed or recovered:
                self.store.mark_synced()
        report.seconds = time.perf_counter() - started
        if progress:
            progress(Progress(files_done, files_total, run.articles_seen, report.chunks_written))
        return report

    def _locked(self) -> Any:
        """One writer per data home; a second one waits with a message instead of interleaving writes."""
        try:
            self._lock.acquire(timeout=0)
            self._lock.release()
        except Timeout:
            log.warning("another newsdesk process is indexing into %s; waiting for it to finish",
                        self.settings.home)
        return self._lock


class _Run:
    """State of one sync: what was seen, what waits to be embedded, what the report says."""

    def __init__(self, indexer: Indexer, records: dict[str, ArticleRecord], report: SyncReport) -> None:
        self.indexer = indexer
        self.store = indexer.store
        self.records = records
        self.report = report
        self.seen: set[str] = set()
        self.by_text = {r.text_hash: r.article_id for r in records.values() if r.text_hash and r.version}
        self.duplicates_of: dict[str, list[Article]] = {}
        self.queue: list[_Pending] = []
        self.queued_chunks = 0
        self.articles_seen = 0
        self.signature = f"{indexer.chunker.signature}|{indexer.embedder.model_id}"

    def offer(self, article: Article) -> None:
        self.articles_seen += 1
        report = self.report
        if article.article_id in self.seen:
            report.duplicates += 1
            report.note(ItemResult(article.location, article.title, "duplicate", "same article id seen before"))
            return
        old = self.records.get(article.article_id)
        version = self._version(article)
        if old and old.version == version and not old.pending:
            self.seen.add(article.article_id)
            report.unchanged += 1
            return
        twin = self.by_text.get(article.text_hash)
        if twin and twin != article.article_id and old is None:
            self.seen.add(article.article_id)
            self.duplicates_of.setdefault(twin, []).append(article)
            report.duplicates += 1
            report.note(ItemResult(article.location, article.title, "duplicate", f"same text as {twin}"))
            return
        self.seen.add(article.article_id)
        self.by_text[article.text_hash] = article.article_id
        self._queue(article, old)

    def _queue(self, article: Article, old: ArticleRecord | None) -> None:
        try:
            chunks = self.indexer.chunker.split(article)
        except ValueError as exc:
            self._fail(article, f"cannot be chunked: {exc}")
            return
        if not chunks:
            self._fail(article, "no text to index")
            return
        version = self._version(article)
        record = ArticleRecord(
            article_id=article.article_id, content_hash=article.content_hash, text_hash=article.text_hash,
            version=version, pending="", origin=article.origin, line=-1 if article.line is None else article.line,
            n_chunks=len(chunks), title=article.title, source=article.source, published=article.published or "",
            url=article.url or "",
        )
        self.queue.append(_Pending(article, record, old if old and old.version else None, chunks))
        self.queued_chunks += len(chunks)
        if self.queued_chunks >= FLUSH_CHUNKS:
            self.flush()

    def _version(self, article: Article) -> str:
        """Changes with the content and with anything that changes the passages (chunking, model)."""
        return hashlib.sha256(f"{article.content_hash}|{self.signature}".encode()).hexdigest()[:16]

    def _fail(self, article: Article, reason: str) -> None:
        self.report.fail(Failure(article.origin, reason, article.line), article.title)

    def flush(self) -> None:
        """Write the queued articles: mark pending, embed, write passages, commit, drop old passages."""
        if not self.queue:
            return
        batch, self.queue, self.queued_chunks = self.queue, [], 0
        store = self.store
        store.put_records(
            replace(p.old or replace(p.record, version=""), pending=p.record.version) for p in batch
        )
        chunks = [(p, c) for p in batch for c in p.chunks]
        vectors = self._vectors([c for _, c in chunks])
        indexed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        store.put_chunks(
            ids=[chunk_id(p.record.article_id, p.record.version, c.index) for p, c in chunks],
            vectors=vectors,
            texts=[c.text for _, c in chunks],
            metas=[_chunk_meta(p.article, p.record, c, indexed_at) for p, c in chunks],
        )
        store.put_records(replace(p.record, pending=p.old.version if p.old else "") for p in batch)
        replaced = [p for p in batch if p.old and p.old.version != p.record.version]
        for p in replaced:
            store.delete_version(p.record.article_id, p.old.version)  # type: ignore[union-attr]
        if replaced:
            store.put_records(p.record for p in replaced)
        for p in batch:  # not kept in self.records: `seen` already protects them, and 100k records weigh 100 MB
            status = "updated" if p.old else "added"
            setattr(self.report, status, getattr(self.report, status) + 1)
            self.report.note(ItemResult(p.article.location, p.article.title, status))
        self.report.chunks_written += len(chunks)

    def _vectors(self, chunks: list[Chunk]) -> np.ndarray:
        hashes = [c.chunk_hash for c in chunks]
        known = self.store.vectors_for(hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in known))
        if missing:
            texts = {c.chunk_hash: c.embed_text for c in chunks}
            fresh = self.indexer.embedder.embed([texts[h] for h in missing])
            known.update(zip(missing, fresh))
            self.report.chunks_embedded += len(missing)
        return np.stack([known[h] for h in hashes])

    def remove_missing(self, scopes: list[str], incomplete: set[str]) -> None:
        """Articles whose folder or file was synced but which were not seen again are gone."""
        if not scopes:
            return
        gone = [
            r for r in self.records.values()
            if r.article_id not in self.seen and r.origin not in incomplete and _in_scope(r.origin, scopes)
        ]
        promoted: list[Article] = []
        for record in gone:
            self.store.delete_article(record.article_id)
            self.report.removed += 1
            self.report.note(ItemResult(record.origin, record.title, "removed"))
            twins = self.duplicates_of.pop(record.article_id, [])
            if twins:
                promoted.append(twins[0])
                self.report.duplicates -= 1
        for article in promoted:  # a removed article's duplicate now stands on its own
            del self.by_text[article.text_hash]
            self._queue(article, None)
        self.flush()


def _in_scope(origin: str, scopes: list[str]) -> bool:
    return any(origin == s or (s.endswith(os.sep) and origin.startswith(s)) for s in scopes)


def _ignorable(path: Path) -> bool:
    """Files a news folder commonly holds beside articles; skipped silently rather than reported."""
    return path.name in {"Thumbs.db", "desktop.ini"} or path.suffix.lower() in {".tmp", ".part", ".swp", ".crdownload"}


def _chunk_meta(article: Article, record: ArticleRecord, chunk: Chunk, indexed_at: str) -> dict[str, Any]:
    return {
        "article_id": article.article_id, "version": record.version, "chunk": chunk.index,
        "start": chunk.start, "end": chunk.end, "chunk_hash": chunk.chunk_hash,
        "title": article.title, "published": article.published or "", "date": date_number(article.published),
        "source": article.source, "url": article.url or "", "author": article.author or "",
        "origin": article.origin, "indexed_at": indexed_at,
    }


def _lock_path(settings: Settings) -> Path:
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.home / "index.lock"
