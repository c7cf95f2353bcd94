"""Polling RSS/Atom feeds politely and indexing their entries through ``Indexer.sync_articles``.

Politeness and cost: conditional requests (ETag / Last-Modified) so an unchanged feed costs one 304; an entry seen
before with the same fingerprint costs nothing (no page fetch, no embedding); a failing feed waits twice as long
after each failure. An entry that carries only a summary gets its linked page fetched and its main text extracted
(same extraction as the HTML loader); if that page fails, the summary is indexed meanwhile and the page retried
with backoff. The same story from two feeds is stored once: an entry whose link is already indexed from another
source is skipped, and identical text under different links is caught by the indexer's text hash.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from index.article import Article, Failure
from index.pipeline.report import ItemResult, SyncReport
from index.pipeline.sync import Indexer
from index.sources.backoff import doubling_wait
from index.sources.feeds import Entry, FeedError, ParsedFeed, parse_feed
from index.sources.remote import Fetcher, FetchError, fetch_article
from index.sources.state import SourcesState, now_iso

log = logging.getLogger(__name__)

RETRY_LIMIT = 6
"""Page fetch attempts per entry before giving up (the waits double: about 5 hours at the default interval)."""


def _one_per_article(entries: list[Entry], feed_url: str, report: SyncReport) -> list[Entry]:
    """One entry per article id, reporting the others. Entries sharing a link (or guid) but not their text are not
    duplicates: the later one in the feed is kept, as the file indexer keeps the later line, and the report says
    so. Summaries of one page are duplicates: the page's text is what gets indexed for both."""
    kept: dict[str, tuple[int, Entry]] = {}
    for n, entry in enumerate(entries, start=1):
        earlier = kept.get(entry.article_id)
        if earlier is None:
            kept[entry.article_id] = (n, entry)
            continue
        first, other = earlier
        kind = "link" if entry.article_id.startswith("url:") else "id"
        where = entry.link or feed_url
        same_page = entry.link is not None and not (other.full or entry.full)  # both indexed from the linked page
        if same_page or " ".join(other.text.lower().split()) == " ".join(entry.text.lower().split()):
            report.duplicates += 1
            report.note(ItemResult(where, entry.title, "duplicate", f"same {kind} and text as entry {first}"))
            continue
        counter = "same_url" if kind == "link" else "same_id"
        setattr(report, counter, getattr(report, counter) + 1)
        report.note(ItemResult(where, entry.title, counter.replace("_", "-"),
                               f"same {kind} as entry {first}, different text: kept the later one"))
        kept[entry.article_id] = (n, entry)
    return [entry for _, entry in kept.values()]




@dataclass
class PollResult:
    feed: str
    report: SyncReport = field(default_factory=SyncReport)
    not_modified: bool = False
    error: str | None = None
    """Why the feed itself failed this time (the poll is retried after ``next_poll``)."""
    page_fetches: int = 0
    next_poll: float = 0.0
    """Epoch seconds."""

    def line(self) -> str:
        if self.error:
            wait = max(0.0, self.next_poll - time.time())
            return f"failed: {self.error} (retrying in {_duration(wait)})"
        if self.not_modified and not self.report.changed and not self.report.failures:
            return "not modified"
        return self.report.summary_line()


@dataclass
class _Round:
    """One poll's working state."""

    known: dict[str, str]
    """Entry fingerprints as of the previous poll, by article id."""
    retry: dict[str, dict[str, Any]]
    """Page fetches to retry on a later poll, by article id."""
    articles: list[Article] = field(default_factory=list)
    """To index now."""
    fingerprints: dict[str, str] = field(default_factory=dict)
    """To remember after this poll."""
    fresh: set[str] = field(default_factory=set)
    """Entries new or changed in this poll."""


class FeedPoller:
    """Polls feeds on their schedule; state (ETag, fingerprints, retries, errors) lives in ``SourcesState``."""

    def __init__(self, indexer: Indexer, fetcher: Fetcher | None = None, state: SourcesState | None = None,
                 lock: AbstractContextManager[Any] | threading.Lock | None = None) -> None:
        self.settings = indexer.settings
        self.indexer = indexer
        self.fetcher = fetcher or Fetcher(self.settings)
        self.state = state or SourcesState(self.settings)
        self.lock = lock
        """Held around index writes only, so a slow feed never blocks a folder sync."""

    def next_due(self, url: str) -> float:
        """Epoch seconds when ``url`` should be polled next (0: now)."""
        return float(self.state.get(url).get("next_poll_at") or 0.0)

    def poll(self, url: str) -> PollResult:
        """One poll: fetch (conditionally), index new and changed entries, retry pages that failed before."""
        st = self.state.get(url)
        started = time.time()
        result = PollResult(url)
        try:
            response, parsed = self._fetch(url, st, result)
        except (FetchError, FeedError) as exc:
            return self._failed(url, st, result, str(exc), getattr(exc, "retry_after", None))
        work = _Round(known=dict(st.get("entries") or {}), retry=dict(st.get("retry") or {}))
        self._take_entries(url, parsed, work, result)
        self._retry_pages(url, parsed.title, started, work, result)
        try:
            with self.lock or nullcontext():
                result.report.merge(self.indexer.sync_articles(work.articles))
        except Exception as exc:  # the store is unreachable or refuses: keep the old ETag, retry the whole poll
            log.exception("feed %s: indexing failed", url)
            return self._failed(url, st, result, f"cannot index: {exc}", None)
        self._succeeded(url, st, result, parsed, response, work)
        return result

    def _fetch(self, url: str, st: dict[str, Any], result: PollResult) -> tuple[Any, ParsedFeed]:
        """The feed, asked for only if it changed since the ETag / Last-Modified of the previous poll."""
        headers = {}
        if st.get("etag"):
            headers["If-None-Match"] = st["etag"]
        if st.get("modified"):
            headers["If-Modified-Since"] = st["modified"]
        response = self.fetcher.get(url, headers)
        if response.status == 304:
            result.not_modified = True
            return response, ParsedFeed(str(st.get("title") or url), [])
        return response, parse_feed(response.content, response.url, response.headers.get("content-type", ""))

    def _take_entries(self, url: str, parsed: ParsedFeed, work: _Round, result: PollResult) -> None:
        """The feed's new and changed entries as articles; entries indexed from another source or unchanged since
        the previous poll are only counted."""
        ids = [e.article_id for e in parsed.entries] + list(work.retry)
        records = {k: r for k, r in self.indexer.store.records_for(ids).items() if r.version}
        report = result.report
        for entry in _one_per_article(parsed.entries, url, report):
            record = records.get(entry.article_id)
            if record and record.origin != url:
                report.duplicates += 1
                report.note(ItemResult(entry.link or url, entry.title, "duplicate",
                                       f"already indexed from {record.origin}"))
                work.fingerprints[entry.article_id] = entry.fingerprint
                continue
            if work.known.get(entry.article_id) == entry.fingerprint and (record or entry.article_id in work.retry):
                report.unchanged += 1
                work.fingerprints[entry.article_id] = entry.fingerprint
                continue
            work.retry.pop(entry.article_id, None)
            work.fresh.add(entry.article_id)
            article = self._article(entry, parsed.title, url, result, work.retry, attempts=0)
            if article is not None:
                work.articles.append(article)
                work.fingerprints[entry.article_id] = entry.fingerprint

    def _retry_pages(self, url: str, feed_title: str, started: float, work: _Round, result: PollResult) -> None:
        """Page fetches that failed on earlier polls and are due again (entries of this poll were just tried)."""
        for ident, item in list(work.retry.items()):
            if ident in work.fresh or float(item.get("next_try", 0)) > started:
                continue
            work.retry.pop(ident)
            try:
                entry = Entry(**item["entry"])
            except (KeyError, TypeError):  # written by another version of newsdesk: drop, the feed brings it back
                continue
            article = self._article(entry, item.get("title") or feed_title, url, result, work.retry,
                                    attempts=int(item.get("attempts", 0)))
            if article is not None and ident not in work.retry:
                work.articles.append(article)

    def _succeeded(self, url: str, st: dict[str, Any], result: PollResult, parsed: ParsedFeed, response: Any,
                   work: _Round) -> None:
        """Record the poll: next poll time, fingerprints, page retries, validators (ETag) and the outcome."""
        report = result.report
        fingerprints = work.known if result.not_modified else work.fingerprints
        now = time.time()
        for item in work.retry.values():  # waits count from the end of this poll, however long indexing took
            if "wait" in item:
                item["next_try"] = now + item.pop("wait")
        result.next_poll = now + self.settings.feed_interval
        error = report.error()
        if error:
            log.warning("feed %s: %s", url, error)
        fields: dict[str, Any] = dict(
            kind="feed", title=parsed.title, last_sync=now_iso(), last_attempt=now_iso(), error=error,
            error_at=now_iso() if error else st.get("error_at"), failures=0, next_poll_at=result.next_poll,
            next_poll=_iso(result.next_poll), entries=fingerprints, retry=work.retry,
        )
        if not result.not_modified:
            fields.update(etag=response.headers.get("etag"), modified=response.headers.get("last-modified"),
                          added=report.added, updated=report.updated, removed=0, failed=len(report.failures))
        self.state.update(url, **fields)

    def _article(self, entry: Entry, feed_title: str, url: str, result: PollResult,
                 retry: dict[str, dict[str, Any]], attempts: int) -> Article | None:
        """The entry's article: its own text when complete, else the linked page's main text."""
        text = entry.text
        page: Article | None = None
        if not entry.full and entry.link:
            result.page_fetches += 1
            try:
                page = fetch_article(entry.link, self.settings, self.fetcher)
                text = page.text
            except FetchError as exc:
                reason = str(exc)
                if exc.retryable and attempts + 1 < RETRY_LIMIT:
                    wait = self._backoff(attempts + 1)
                    retry[entry.article_id] = {"entry": asdict(entry), "title": feed_title, "attempts": attempts + 1,
                                               "wait": wait, "error": reason}
                    reason += f"; retrying in {_duration(wait)}"
                elif exc.retryable:
                    reason += f"; gave up after {RETRY_LIMIT} attempts"
                reason += "; indexed the feed's summary meanwhile" if entry.text else ""
                result.report.fail(Failure(entry.link, reason), entry.title)
        if not text:
            return None
        if len(text) > self.settings.max_article_chars:
            reason = f"article too long ({len(text):,} characters > {self.settings.max_article_chars:,} limit)"
            result.report.failures.append(Failure(entry.link or url, reason))
            return None
        return Article(
            article_id=entry.article_id,
            title=entry.title or (page.title if page else "") or text.split("\n", 1)[0][:120],
            text=text,
            published=entry.published or (page.published if page else None),
            source=feed_title,
            url=entry.link,
            author=entry.author or (page.author if page else None),
            origin=url,
        )

    def _failed(self, url: str, st: dict[str, Any], result: PollResult, reason: str,
                retry_after: float | None) -> PollResult:
        failures = int(st.get("failures") or 0) + 1
        wait = self._backoff(failures)
        if retry_after:
            wait = max(wait, min(retry_after, self.settings.feed_max_backoff))
        result.error = reason
        result.next_poll = time.time() + wait
        result.report.failures.append(Failure(url, reason))
        log.warning("feed %s: %s (attempt %d; retrying in %s)", url, reason, failures, _duration(wait))
        self.state.update(url, kind="feed", last_attempt=now_iso(), error=reason, error_at=now_iso(),
                          failures=failures, next_poll_at=result.next_poll, next_poll=_iso(result.next_poll))
        return result

    def _backoff(self, failures: int) -> float:
        """The poll interval, doubled per consecutive failure, capped by ``feed_max_backoff``."""
        interval = self.settings.feed_interval
        return doubling_wait(interval, failures, max(self.settings.feed_max_backoff, interval))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
