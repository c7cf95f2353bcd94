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
from typing import Any, NamedTuple

import numpy as np
from filelock import FileLock, Timeout

from index.article import Article, Failure, Loaded, printable
from index.chunking import Chunk, Chunker
from index.embedding import Embedder, make_embedder
from index.loaders import SUPPORTED, external_link, iter_files, load_file
from index.settings import IndexSettings
from index.store import ArticleRecord, Store, chunk_id, date_number

log = logging.getLogger(__name__)

FLUSH_CHUNKS = 256
"""Passages embedded and written per round trip: large enough to batch well, small enough to stream."""


@dataclass(frozen=True, slots=True)
class ItemResult:
    location: str
    title: str
    status: str
    """added, updated, duplicate, same-url, same-id, removed or failed (unchanged articles are only counted)."""
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
    """Articles with the id and text of one seen before: stored once."""
    same_url: int = 0
    """Articles with the url of one seen before but other text (url is their identity): the later one is stored.
    Not duplicates: in a news-quiz export 4,516 of 5,017 lines shared a page url with another line."""
    same_id: int = 0
    """The same, for articles with an explicit id (or a feed entry's guid) seen before."""
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
        self.note(ItemResult(printable(failure.location), title, "failed", printable(failure.reason)))

    def note(self, item: ItemResult) -> None:
        """List one article's outcome (callers only count unchanged ones)."""
        if item.status != "failed":
            if self._listed >= MAX_LISTED:
                self.unlisted += 1
                return
            self._listed += 1
        self.items.append(item)

    def unnote(self, location: str, status: str) -> None:
        """Take back the latest listed outcome of the article at ``location`` (a later one with its id undid it)."""
        for at in range(len(self.items) - 1, -1, -1):
            if self.items[at].location == location and self.items[at].status == status:
                del self.items[at]
                self._listed -= 1
                return
        self.unlisted = max(0, self.unlisted - 1)

    def merge(self, other: SyncReport) -> None:
        for name in ("added", "updated", "unchanged", "removed", "duplicates", "same_url", "same_id", "unlisted",
                     "chunks_written", "chunks_embedded", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures)
        for item in other.items:
            self.note(item)

    def summary(self) -> str:
        line = (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"removed {self.removed}, failed {self.failed}")
        notes = [f"{self.duplicates} duplicate{'s' * (self.duplicates != 1)} stored once"] if self.duplicates else []
        notes += [f"{n} sharing {kind} with different text: later kept"
                  for n, kind in ((self.same_url, "a url"), (self.same_id, "an id")) if n]
        return line + (f" ({'; '.join(notes)})" if notes else "")


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
    status: str
    """added or updated, as against the store when the run started."""


class _Seen(NamedTuple):
    """An article id this run has seen: where from, and what became of it (what a later article with the same id
    has to undo). A tuple, not the article: a sync of 100k articles holds one per article."""

    origin: str
    line: int | None
    state: str
    """queued, added, updated, unchanged, duplicate (of another id's text) or failed."""
    text_hash: str = ""
    """Kept for duplicates only; the other states find it in the queue, the manifest or the store."""


class Indexer:
    """The one way anything gets into the store: CLI, web app, watcher and tests all call ``sync``."""

    def __init__(self, settings: IndexSettings, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or make_embedder(settings)
        self.chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        self._lock = FileLock(str(_lock_path(settings)))

    # -- public API --------------------------------------------------------------------------------------------

    def sync(self, paths: Sequence[str | Path], progress: ProgressFn | None = None, *,
             within: str | Path | None = None) -> SyncReport:
        """Index files and folders; remove what disappeared from the folders and files named.

        ``within``: the files were found in this folder (a watcher's changed files), so a symbolic link among them
        that leads out of it is skipped as a folder sync would skip it; a file named without it is followed.
        """
        report = SyncReport()
        files: list[str] = []  # strings, not Paths: a Path costs ~3x the memory and a big library has 100k of them
        scopes: list[str] = []
        follow = self.settings.follow_external_links
        for raw in paths:
            path = Path(raw).expanduser()
            if path.is_dir():
                for found in iter_files(path, follow):
                    if isinstance(found, Failure):
                        report.fail(found)  # (not "incomplete": an article indexed through that link goes)
                    elif found.suffix.lower() in SUPPORTED or not _ignorable(found):
                        files.append(str(found))
                scopes.append(str(path.absolute()) + os.sep)
            elif within is not None and not follow and (outside := external_link(path, Path(within))):
                report.fail(outside)
                scopes.append(str(path.absolute()))
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

        return self._run(loads(), len(files), scopes, report, progress, files)

    def sync_articles(self, articles: Iterable[Article], progress: ProgressFn | None = None) -> SyncReport:
        """Index articles that come from elsewhere (feeds, URLs, uploads); removes nothing."""
        def loads() -> Iterable[Loaded]:
            for article in articles:
                problem = article.invalid()  # (files are checked by their loader; this is for feeds and pages)
                if problem:
                    yield Loaded(article.origin, failures=[Failure(article.origin, problem, article.line)])
                else:
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
             progress: ProgressFn | None, files: Sequence[str] = ()) -> SyncReport:
        started = time.perf_counter()
        with self._locked(), self.store.writing():
            self.store.check_model(self.embedder.model_id)
            recovered = self.store.recover()
            if recovered:
                log.warning("finished cleaning up %d article(s) left half-written by an interrupted run", recovered)
            records = self.store.records()
            # (an absolute path is its own origin: the set references the list's strings rather than copy them)
            upcoming = {f if os.path.isabs(f) else str(Path(f).absolute()) for f in files}
            run = _Run(self, records, report, upcoming)
            files_done = 0
            incomplete: set[str] = set()
            for loaded in loads:
                files_done += 1
                for failure in loaded.failures:
                    report.fail(failure)
                if not loaded.complete or loaded.failures:
                    incomplete.add(loaded.origin)
                run.offer_all(loaded.articles)
                run.done_with(loaded.origin)
                if progress:
                    progress(Progress(files_done, files_total, run.articles_seen, report.chunks_written))
            run.flush(final=True)
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

    def __init__(self, indexer: Indexer, records: dict[str, ArticleRecord], report: SyncReport,
                 upcoming: set[str] | None = None) -> None:
        self.indexer = indexer
        self.store = indexer.store
        self.records = records
        self.report = report
        self.seen: dict[str, _Seen] = {}
        self.by_text = {r.text_hash: r.article_id for r in records.values() if r.text_hash and r.version}
        self.duplicates_of: dict[str, list[Article]] = {}
        self.queue: list[_Pending] = []
        self.queued_chunks = 0
        self.upcoming = upcoming or set()
        """Files of this sync not loaded yet."""
        self.held: list[_Pending] = []
        """Articles to be written over a stored version from a file still to come, which may carry the same id with
        the text stored now (two files sharing a url): written once that file is done, not before."""
        self.articles_seen = 0
        self.signature = f"{indexer.chunker.signature}|{indexer.embedder.model_id}"

    def offer_all(self, articles: list[Article]) -> None:
        """One file's articles. Lines sharing an id are settled first, while the whole file is at hand: only the
        last with each text is offered, so an earlier line is never written only to be replaced by a later one
        (which every re-sync would then repeat)."""
        kept: dict[str, Article] = {}
        for article in articles:
            earlier = kept.get(article.article_id)
            if earlier is None:
                kept[article.article_id] = article
                continue
            self.articles_seen += 1
            where = _name(earlier.origin, earlier.line, article)
            if earlier.text_hash == article.text_hash:
                self._duplicate(article, where)
            else:
                self._same_id(article, where)
                kept[article.article_id] = article
        for article in kept.values():
            self.offer(article)

    def offer(self, article: Article) -> None:
        self.articles_seen += 1
        report = self.report
        old = self.records.get(article.article_id)
        earlier = self.seen.get(article.article_id)
        if earlier is not None:  # from another file, feed or page earlier in this run
            queued = next((p for p in (*self.queue, *self.held) if p.article.article_id == article.article_id), None)
            if queued is not None:  # waiting to be written over what the store holds
                old = queued.old
            elif earlier.state in ("added", "updated"):  # already written: that is what the store holds now
                old = self.store.records_for([article.article_id]).get(article.article_id)
            if not self._replaces(article, earlier, old, queued):
                return
        version = self._version(article)
        if old and old.version == version and not old.pending:
            self.seen[article.article_id] = _Seen(article.origin, article.line, "unchanged")
            report.unchanged += 1
            return
        twin = self.by_text.get(article.text_hash)
        if twin and twin != article.article_id and old is None:
            self.seen[article.article_id] = _Seen(article.origin, article.line, "duplicate", article.text_hash)
            self.duplicates_of.setdefault(twin, []).append(article)
            report.duplicates += 1
            report.note(ItemResult(article.location, article.title, "duplicate", f"same text as {twin}"))
            return
        if old and old.text_hash != article.text_hash:
            self._release_text(article.article_id, old.text_hash)
        self.by_text[article.text_hash] = article.article_id
        self._queue(article, old)

    def _release_text(self, article_id: str, text_hash: str) -> None:
        """``article_id`` no longer holds the text ``text_hash``: an article with that text that came later is new,
        and one already taken for its duplicate is stored after all (else that text would be lost)."""
        if self.by_text.get(text_hash) == article_id:
            del self.by_text[text_hash]
        twins = self.duplicates_of.pop(article_id, [])
        if twins:
            first, rest = twins[0], twins[1:]
            self.report.duplicates -= 1
            self.report.unnote(first.location, "duplicate")
            self.by_text[first.text_hash] = first.article_id
            if rest:
                self.duplicates_of[first.article_id] = rest
            self._queue(first, None)

    def _replaces(self, article: Article, earlier: _Seen, stored: ArticleRecord | None,
                  queued: _Pending | None) -> bool:
        """Whether ``article`` goes on to replace the earlier article with its id (undone here), or is a duplicate
        of it. ``stored``: the store's record of the id now; ``queued``: the earlier one waiting to be written."""
        if earlier.state == "failed":
            return True  # its failure is listed; this one gets its own chance
        where = _name(earlier.origin, earlier.line, article)
        if queued is not None:
            text_hash = queued.article.text_hash
        elif earlier.state == "duplicate":
            text_hash = earlier.text_hash
        else:  # unchanged, added or updated: the store holds the earlier one
            text_hash = stored.text_hash if stored else ""
        if text_hash == article.text_hash:
            self._duplicate(article, where)
            return False
        self._same_id(article, where)
        report = self.report
        if earlier.state in ("duplicate", "added", "updated"):
            location = f"{earlier.origin}:{earlier.line}" if earlier.line is not None else earlier.origin
            report.unnote(location, earlier.state)
        if earlier.state == "duplicate":
            for twins in self.duplicates_of.values():
                twins[:] = [a for a in twins if a.article_id != article.article_id]
            report.duplicates -= 1
            return True
        if any(p is queued for p in self.held):
            self.held = [p for p in self.held if p is not queued]
        elif queued is not None:
            self.queue = [p for p in self.queue if p is not queued]
            self.queued_chunks -= len(queued.chunks)
        elif earlier.state in ("unchanged", "added", "updated"):
            setattr(report, earlier.state, getattr(report, earlier.state) - 1)
        self._release_text(article.article_id, text_hash)
        return True

    def _duplicate(self, article: Article, where: str) -> None:
        self.report.duplicates += 1
        kind = "url" if article.article_id.startswith("url:") else "id"
        self.report.note(ItemResult(article.location, article.title, "duplicate", f"same {kind} and text as {where}"))

    def _same_id(self, article: Article, where: str) -> None:
        """Report an article that replaces an earlier one with its id (url or explicit id) but other text."""
        by_url = article.article_id.startswith("url:")
        unit = _unit(article.origin) if article.line is not None else "article"
        hint = f"give each {unit} an `id` to keep both" if by_url else f"give each {unit} its own `id` to keep both"
        kind = "url" if by_url else "id"
        setattr(self.report, f"same_{kind}", getattr(self.report, f"same_{kind}") + 1)
        self.report.note(ItemResult(article.location, article.title, f"same-{kind}",
                                    f"same {kind} as {where}, different text: kept the later one; {hint}"))

    def _queue(self, article: Article, old: ArticleRecord | None) -> None:
        try:
            chunks = self.indexer.chunker.split(article)
        except ValueError as exc:
            self._fail(article, f"cannot be chunked: {exc}")
            return
        if not chunks:
            self._fail(article, "no text to index")
            return
        self.seen[article.article_id] = _Seen(article.origin, article.line, "queued")
        version = self._version(article)
        record = ArticleRecord(
            article_id=article.article_id, content_hash=article.content_hash, text_hash=article.text_hash,
            version=version, pending="", origin=article.origin, line=-1 if article.line is None else article.line,
            n_chunks=len(chunks), title=article.title, source=article.source, published=article.published or "",
            url=article.url or "",
        )
        first = self.records.get(article.article_id)
        status = "updated" if first and first.version else "added"
        pending = _Pending(article, record, old if old and old.version else None, chunks, status)
        if old and old.origin != article.origin and old.origin in self.upcoming:
            self.held.append(pending)
            return
        self._enqueue(pending)

    def _enqueue(self, pending: _Pending) -> None:
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

    def _version(self, article: Article) -> str:
        """Changes with the content and with anything that changes the passages (chunking, model)."""
        return hashlib.sha256(f"{article.content_hash}|{self.signature}".encode()).hexdigest()[:16]

    def _fail(self, article: Article, reason: str) -> None:
        self.seen[article.article_id] = _Seen(article.origin, article.line, "failed")
        self.report.fail(Failure(article.origin, reason, article.line), article.title)

    def flush(self, final: bool = False) -> None:
        """Write the queued articles (``final``: and the held ones): mark pending, embed, write passages, commit,
        drop old passages."""
        if final:
            self.queue.extend(self.held)
            self.held = []
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
            setattr(self.report, p.status, getattr(self.report, p.status) + 1)
            self.report.note(ItemResult(p.article.location, p.article.title, p.status))
            self.seen[p.article.article_id] = _Seen(p.article.origin, p.article.line, p.status)
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


def _name(origin: str, line: int | None, later: Article) -> str:
    """How a report row on ``later`` names an earlier article: "line 12" in the same file, else where it is."""
    if line is None:
        return origin
    return f"{_unit(origin)} {line}" if origin == later.origin else f"{origin}:{line}"


def _unit(origin: str) -> str:
    """What a numbered article of a file is: a line of JSONL, an item (counted from 0) of a JSON list."""
    return "line" if origin.lower().endswith((".jsonl", ".ndjson")) else "item"


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


def _lock_path(settings: IndexSettings) -> Path:
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.home / "index.lock"
