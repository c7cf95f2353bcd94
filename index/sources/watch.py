"""Keep folders and feeds indexed as articles arrive: one runner for ``newsdesk watch`` and ``serve --watch``.

Folders are watched with watchdog and synced through ``Indexer.sync`` (the same incremental path as
``newsdesk index``): created or modified files are synced by path, anything that removes or moves files syncs the
whole folder so vanished articles are removed. Changes are debounced: a folder is synced after
``watch_debounce`` seconds without events, so a burst of a hundred files costs one sync. A file still being
written is not indexed half: where the platform reports closes (inotify), a file written to but not yet closed is
held back; everywhere, a file whose size or mtime moved without an event waits another quiet period, and any later
write triggers a re-sync.

Feeds are polled by ``index.sources.poller.FeedPoller`` on their own thread, so a slow feed never delays a folder. Index
writes from both threads are serialized by one lock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from index.pipeline.report import SyncReport
from index.pipeline.sync import Indexer
from index.settings import IndexSettings
from index.sources.backoff import doubling_wait
from index.sources.files import ignorable
from index.sources.poller import FeedPoller
from index.sources.remote import Fetcher, is_url
from index.sources.state import SourcesState, now_iso

log = logging.getLogger(__name__)

EVENTS = [FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
          DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
"""Opens, reads and attribute changes are ignored: the indexer reading a file must not trigger a sync."""


class WatchError(ValueError):
    """A source cannot be watched (missing folder, not an http(s) feed); the message says which and why."""


@dataclass(frozen=True)
class SyncEvent:
    """One sync of one source, for the CLI's one line and the web app's notifications."""

    source: str
    kind: str
    """folder, file or feed."""
    summary: str
    report: SyncReport | None = None
    error: str | None = None
    at: datetime = field(default_factory=datetime.now)

    def line(self) -> str:
        return f"{self.at:%H:%M:%S} {self.kind} {self.source}: {self.summary}"


SyncCallback = Callable[[SyncEvent], None]


@dataclass
class _Root:
    path: Path
    is_file: bool

    @property
    def kind(self) -> str:
        return "file" if self.is_file else "folder"


@dataclass
class _Pending:
    full: bool = False
    changed: set[str] = field(default_factory=set)
    stats: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    last_event: float = 0.0
    """monotonic seconds of the last event (or of the moment a retry becomes due)."""


class Watcher:
    """Watches folders/files and polls feeds on background threads; ``start()`` then ``stop()``."""

    def __init__(self, settings: IndexSettings, indexer: Indexer | None = None, folders: Iterable[str | Path] = (),
                 feeds: Iterable[str] = (), on_sync: SyncCallback | None = None,
                 fetcher: Fetcher | None = None) -> None:
        indexer = indexer or Indexer(settings)
        self.indexer = indexer
        self.settings = settings
        self.on_sync = on_sync
        self.roots: dict[str, _Root] = {}
        for raw in folders:
            path = Path(raw).expanduser().absolute()
            if not path.exists():
                raise WatchError(f"{path}: no such file or folder")
            if not (path.is_dir() or path.is_file()):
                raise WatchError(f"{path}: not a regular file or folder")
            self.roots[str(path)] = _Root(path, path.is_file())
        self.feeds = list(dict.fromkeys(f.strip() for f in feeds))
        for url in self.feeds:
            if not is_url(url):
                raise WatchError(f"{url}: feeds must be http(s) URLs")
        self.state = SourcesState(self.settings)
        self._index_lock = threading.Lock()
        self._own_fetcher = fetcher is None and bool(self.feeds)
        if self._own_fetcher:
            try:
                fetcher = Fetcher(self.settings)
            except ValueError as exc:  # a bad NEWSDESK_ALLOW_NETWORKS
                raise WatchError(str(exc)) from None
        self.poller = FeedPoller(indexer, fetcher, self.state, lock=self._index_lock) if self.feeds else None
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._open_writes: dict[str, float] = {}
        self._errors: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self.debounce = max(0.0, self.settings.watch_debounce)
        self.max_hold = max(30.0, 10 * self.debounce)
        """A file written to but never closed is indexed anyway after this long."""
        self.close_events = False

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Watcher:
        if self.roots:
            observer = Observer()
            for key, root in self.roots.items():
                target = root.path.parent if root.is_file else root.path
                observer.schedule(_Handler(self, key, root), str(target), recursive=not root.is_file,
                                  event_filter=EVENTS)
            observer.daemon = True
            observer.start()
            self._observer = observer
            try:
                from watchdog.observers.inotify import InotifyObserver

                self.close_events = isinstance(observer, InotifyObserver)
            except ImportError:
                self.close_events = False
            with self._cond:
                for key in self.roots:
                    self._pending[key] = _Pending(full=True, last_event=-1e9)  # catch up on changes while away
            self._spawn(self._folder_loop, "newsdesk-watch-folders")
        if self.poller:
            self._spawn(self._feed_loop, "newsdesk-watch-feeds")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; a sync in progress finishes (or is cut short by process exit, which is crash-safe)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        for thread in self._threads:
            thread.join(timeout)
        if self._own_fetcher and self.poller and not any(t.is_alive() for t in self._threads):
            self.poller.fetcher.close()  # (a fetch still running past the timeout keeps its client; exit frees it)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``stop()`` (True) or the timeout (False): the CLI's main loop."""
        return self._stop.wait(timeout)

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- folder events (watchdog's thread) ---------------------------------------------------------------------

    def note(self, key: str, root: _Root, event: FileSystemEvent) -> None:
        src = _relevant(root, event.src_path)
        dest = _relevant(root, getattr(event, "dest_path", "") or "")
        if not (src or dest):
            return
        now = time.monotonic()
        with self._cond:
            pending = self._pending.setdefault(key, _Pending())
            if isinstance(event, (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileDeletedEvent)):
                pending.full = True
                self._open_writes.pop(src or "", None)
            elif isinstance(event, FileMovedEvent):
                if src:
                    pending.full = True
                    self._open_writes.pop(src, None)
                if dest:
                    self._changed(pending, dest)
            elif src:
                self._changed(pending, src)
                if isinstance(event, FileClosedEvent):
                    self._open_writes.pop(src, None)
                elif isinstance(event, FileModifiedEvent) and self.close_events:
                    self._open_writes.setdefault(src, now)
            pending.last_event = now
            self._cond.notify_all()

    def _changed(self, pending: _Pending, path: str) -> None:
        pending.changed.add(path)
        pending.stats[path] = _stat(path)

    # -- folder syncs (the worker thread) ----------------------------------------------------------------------

    def _folder_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                ready, wait = self._take_ready()
                if not ready:
                    self._cond.wait(timeout=wait)
                    continue
            for key, pending in ready:
                if self._stop.is_set():
                    return
                self._sync_folder(key, pending)

    def _take_ready(self) -> tuple[list[tuple[str, _Pending]], float]:
        """Roots quiet for ``debounce`` seconds with no file still being written; else how long to wait."""
        now = time.monotonic()
        ready: list[tuple[str, _Pending]] = []
        wait = 1.0
        for key, pending in list(self._pending.items()):
            quiet_at = pending.last_event + self.debounce
            if now < quiet_at:
                wait = min(wait, quiet_at - now)
                continue
            held = [p for p in pending.changed if p in self._open_writes
                    and now - self._open_writes[p] < self.max_hold]
            if held:
                wait = min(wait, self.debounce or 0.1)
                continue
            moved = [p for p, st in pending.stats.items() if _stat(p) != st]
            if moved:  # size or mtime changed without an event (network drives): another quiet period
                for p in moved:
                    pending.stats[p] = _stat(p)
                pending.last_event = now
                wait = min(wait, self.debounce or 0.1)
                continue
            for p in pending.changed:
                self._open_writes.pop(p, None)
            ready.append((key, self._pending.pop(key)))
        return ready, max(0.01, wait)

    def _sync_folder(self, key: str, pending: _Pending) -> None:
        root = self.roots[key]
        within = None
        if pending.full or root.is_file:
            paths = [str(root.path)]
        else:
            paths = sorted(p for p in pending.changed if os.path.isfile(p))
            within = root.path  # changed files are named one by one: links out of the folder stay skipped
            if not paths:
                return
        try:
            with self._index_lock:
                report = self.indexer.sync(paths, within=within)
        except Exception as exc:  # store unreachable, model mismatch...: report, retry the whole folder later
            failures = self._errors.get(key, 0) + 1
            self._errors[key] = failures
            wait = doubling_wait(max(self.debounce, 5.0), failures, max(self.settings.feed_max_backoff, 5.0))
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("sync of %s failed (%s); retrying in %.0f s", key, reason, wait)
            with self._cond:
                retry = self._pending.setdefault(key, _Pending())
                retry.full = True
                retry.last_event = max(retry.last_event, time.monotonic() + wait - self.debounce)
            self.state.update(key, kind=root.kind, last_attempt=now_iso(), error=reason, error_at=now_iso(),
                              failures=failures)
            self._emit(SyncEvent(key, root.kind, f"failed: {reason} (retrying in {wait:.0f} s)", error=reason))
            return
        self._errors.pop(key, None)
        error = report.error()
        self.state.update(key, kind=root.kind, last_sync=now_iso(), last_attempt=now_iso(), error=error,
                          error_at=now_iso() if error else None, failures=0, added=report.added,
                          updated=report.updated, removed=report.removed, failed=report.failed)
        self._emit(SyncEvent(key, root.kind, report.summary_line(), report=report, error=error))

    # -- feeds (their own thread) ------------------------------------------------------------------------------

    def _feed_loop(self) -> None:
        assert self.poller is not None
        first = {url for url in self.feeds if not self.state.get(url).get("failures")}
        while not self._stop.is_set():
            for url in self.feeds:
                if self._stop.is_set():
                    return
                if url not in first and self.poller.next_due(url) > time.time():
                    continue
                first.discard(url)
                try:
                    result = self.poller.poll(url)
                except Exception as exc:  # a bug or the store failing outside the poller's own handling
                    log.exception("feed %s: poll failed", url)
                    self._emit(SyncEvent(url, "feed", f"failed: {exc}", error=str(exc)))
                    continue
                self._emit(SyncEvent(url, "feed", result.line(), report=result.report, error=result.error))
            due = min(self.poller.next_due(url) for url in self.feeds)
            self._stop.wait(min(60.0, max(0.05, due - time.time())))

    def _emit(self, event: SyncEvent) -> None:
        log.info("%s", event.line())
        if self.on_sync:
            try:
                self.on_sync(event)
            except Exception:
                log.exception("on_sync callback failed")


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher, key: str, root: _Root) -> None:
        self.watcher = watcher
        self.key = key
        self.root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher.note(self.key, self.root, event)


def _relevant(root: _Root, raw: str | bytes) -> str | None:
    """The event path when it concerns the root: inside it, not hidden, not a temp/partial download."""
    if not raw:
        return None
    path = os.fsdecode(raw)
    if root.is_file:
        return path if path == str(root.path) else None
    base = str(root.path)
    if path != base and not path.startswith(base + os.sep):
        return None
    rel = Path(path[len(base):].lstrip(os.sep))
    if any(part.startswith(".") for part in rel.parts) or ignorable(Path(path)):
        return None
    return path


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
