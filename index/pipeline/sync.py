"""Incremental sync: make the store match a set of sources, paying only for what changed.

Per article a content hash decides: unchanged articles cost nothing; new and changed ones are chunked and
embedded in batches, reusing stored vectors of identical passages (``index.pipeline.writer``), and placed in story
groups with their near-copies (``index.pipeline.stories``); articles gone from a synced folder or file are removed.
``index.pipeline.run`` keeps the per-article bookkeeping of a sync. See ``index.store.store`` for why an interrupted
run never shows a half-indexed article.

Why not llama-index's IngestionPipeline with a docstore: its ``UPSERTS_AND_DELETE`` deletes every document not in
the current batch, so ``newsdesk index one-file.txt`` would empty the rest of the store; its docstore is a JSON
file rewritten whole, and its cache keys on whole batches rather than passages. The manifest here lives in Chroma
itself and is scoped per synced folder or file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from index.article import Article, Failure, Loaded
from index.pipeline.chunking import Chunker
from index.pipeline.embedding import Embedder, make_embedder
from index.pipeline.report import Progress, ProgressFn, SyncReport
from index.pipeline.run import Run
from index.settings import IndexSettings
from index.sources.files import SUPPORTED, external_link, ignorable, iter_files
from index.sources.loaders import load_file
from index.store import Store

log = logging.getLogger(__name__)


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
                    elif found.suffix.lower() in SUPPORTED or not ignorable(found):
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
            run = Run(self.store, self.chunker, self.embedder, records, report, upcoming)
            regrouped = run.stories.prepare(records)  # (a killed run's regrouping, articles from before grouping)
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
            run.finish(scopes, incomplete)
            if report.changed or recovered or regrouped:
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


def _lock_path(settings: IndexSettings) -> Path:
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.home / "index.lock"
