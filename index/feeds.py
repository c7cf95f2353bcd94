"""RSS/Atom feeds: poll politely, turn entries into articles, index them through ``Indexer.sync_articles``.

Politeness and cost: conditional requests (ETag / Last-Modified) so an unchanged feed costs one 304; an entry seen
before with the same fingerprint costs nothing (no page fetch, no embedding); a failing feed waits twice as long
after each failure. An entry that carries only a summary gets its linked page fetched and its main text extracted
(same extraction as the HTML loader); if that page fails, the summary is indexed meanwhile and the page retried
with backoff. The same story from two feeds is stored once: an entry whose link is already indexed from another
source is skipped, and identical text under different links is caught by the indexer's text hash.

Safety: the feed body is fetched by the guarded ``index.remote.Fetcher`` and handed to feedparser as a stream
(feedparser would open a *string* as a URL or a local file path). Feeds declaring XML entities are refused before
parsing: feedparser keeps "safe" internal entities and, when expat stops an expansion bomb, its lenient fallback
parser expands them anyway (a 100 kB feed became 200 MB of text in 12 s when measured).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from html import unescape
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree
import feedparser

from index.article import Article, Failure
from index.loaders import article_id, normalize_date
from index.markup import html_to_text
from index.remote import Fetcher, FetchError, fetch_article, is_url
from index.sources_state import SourcesState, now_iso
from index.sync import Indexer, ItemResult, SyncReport

log = logging.getLogger(__name__)

FULL_TEXT_WORDS = 120
"""An entry with less text than this (or with text that ends in "…"/"Read more") is a summary: fetch the page."""
RETRY_LIMIT = 6
"""Page fetch attempts per entry before giving up (the waits double: about 5 hours at the default interval)."""
_TRUNCATED = re.compile(r"(\u2026|\.\.\.|\[\u2026\]|\[\.\.\.\]|read more|continue reading|more\s*»)\W*$", re.I)
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.I)


class FeedError(Exception):
    """The feed as a whole cannot be used this time; the message is the reason."""


# -- parsing -----------------------------------------------------------------------------------------------------


@dataclass
class Entry:
    article_id: str
    link: str | None
    title: str
    published: str | None
    author: str | None
    text: str
    """The best text the feed itself carries (content, else summary), as plain text."""
    full: bool
    """True when ``text`` looks like the whole article, False for a summary."""
    fingerprint: str
    """Changes when the entry changes: an unchanged entry is never fetched or indexed again."""


@dataclass
class ParsedFeed:
    title: str
    entries: list[Entry]


def parse_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Entries of an RSS/Atom document; raises ``FeedError`` for unsafe, malformed or non-feed input."""
    if _ENTITY_DECL.search(data.replace(b"\x00", b"")):
        raise FeedError("refused: the feed declares XML entities (an entity-expansion bomb is possible)")
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise FeedError(f"refused: unsafe XML ({type(exc).__name__})") from None
    except ParseError:
        pass  # malformed XML: feedparser's lenient parser may still read it, and says so below
    parsed = feedparser.parse(io.BytesIO(data), response_headers={
        "content-type": content_type or "application/xml", "content-location": url,
    })
    entries = [e for e in (_entry(raw) for raw in parsed.entries) if e is not None]
    if not entries and parsed.get("bozo"):
        raise FeedError(f"malformed feed XML ({_bozo_reason(parsed)})")
    if not entries and not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed (no channel, feed or entries found)")
    if parsed.get("bozo"):
        log.info("feed %s is not well-formed XML (%s); read leniently", url, _bozo_reason(parsed))
    title = " ".join(str(parsed.feed.get("title") or "").split()) or urlsplit(url).hostname or url
    return ParsedFeed(title, entries)


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return str(getattr(exc, "getMessage", lambda: exc)()) if exc else "unknown error"


def _entry(raw: Mapping[str, Any]) -> Entry | None:
    link = str(raw.get("link") or "").strip() or None
    if link and not is_url(link):
        link = None  # javascript:, mailto:, relative junk: not a page we fetch
    guid = str(raw.get("id") or "").strip()
    contents = [_text_of(c.get("value", ""), c.get("type", "")) for c in raw.get("content") or []]
    detail = raw.get("summary_detail") or {}
    summary = _text_of(raw.get("summary", ""), detail.get("type", "text/html"))
    text = max([*contents, summary], key=lambda t: len(t.split()), default="")
    title = " ".join(_text_of(raw.get("title", ""), "text/html").split())
    if not (text or link):
        return None
    full = len(text.split()) >= FULL_TEXT_WORDS and not _TRUNCATED.search(text)
    if link:
        ident = article_id(None, link, "", None, text)
    elif guid:
        ident = article_id(guid, None, "", None, text)
    else:
        ident = article_id(None, None, "", None, f"{title}\n{text}")
    published = _date(raw.get("published_parsed")) or _date(raw.get("updated_parsed")) \
        or normalize_date(raw.get("published") or raw.get("updated"))
    fingerprint = hashlib.sha256(
        "\x1f".join([ident, title, text, published or "", str(raw.get("updated") or "")]).encode()
    ).hexdigest()[:24]
    return Entry(ident, link, title, published, str(raw.get("author") or "").strip() or None, text, full,
                 fingerprint)


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


def _date(parsed: Any) -> str | None:
    try:
        return datetime(*parsed[:6], tzinfo=timezone.utc).date().isoformat() if parsed else None
    except (TypeError, ValueError):
        return None


def _text_of(value: str, kind: str) -> str:
    if not value:
        return ""
    if "html" not in (kind or "") and "<" not in value:
        return unescape(value).strip()
    return html_to_text(value)  # the same conversion as HTML in JSON/Markdown files (feedparser sanitized it first)


# -- polling -----------------------------------------------------------------------------------------------------


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
        line = self.report.summary()
        if self.report.failures:
            more = len(self.report.failures) - 1
            line += f" — {self.report.failures[0]}" + (f" (+{more} more)" if more else "")
        return line


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
        headers = {}
        if st.get("etag"):
            headers["If-None-Match"] = st["etag"]
        if st.get("modified"):
            headers["If-Modified-Since"] = st["modified"]
        result = PollResult(url)
        try:
            response = self.fetcher.get(url, headers)
            if response.status == 304:
                result.not_modified = True
                parsed = ParsedFeed(str(st.get("title") or url), [])
            else:
                parsed = parse_feed(response.content, response.url, response.headers.get("content-type", ""))
        except (FetchError, FeedError) as exc:
            return self._failed(url, st, result, str(exc), getattr(exc, "retry_after", None))

        known: dict[str, str] = dict(st.get("entries") or {})
        retry: dict[str, dict[str, Any]] = dict(st.get("retry") or {})
        ids = [e.article_id for e in parsed.entries] + list(retry)
        records = {k: r for k, r in self.indexer.store.records_for(ids).items() if r.version}
        report = result.report
        articles: list[Article] = []
        fingerprints: dict[str, str] = {}
        fresh: set[str] = set()
        for entry in _one_per_article(parsed.entries, url, report):
            record = records.get(entry.article_id)
            if record and record.origin != url:
                report.duplicates += 1
                report.note(ItemResult(entry.link or url, entry.title, "duplicate",
                                       f"already indexed from {record.origin}"))
                fingerprints[entry.article_id] = entry.fingerprint
                continue
            if known.get(entry.article_id) == entry.fingerprint and (record or entry.article_id in retry):
                report.unchanged += 1
                fingerprints[entry.article_id] = entry.fingerprint
                continue
            retry.pop(entry.article_id, None)
            fresh.add(entry.article_id)
            article = self._article(entry, parsed.title, url, result, retry, attempts=0)
            if article is not None:
                articles.append(article)
                fingerprints[entry.article_id] = entry.fingerprint

        for ident, item in list(retry.items()):  # page fetches that failed on earlier polls
            if ident in fresh or float(item.get("next_try", 0)) > started:
                continue
            retry.pop(ident)
            try:
                entry = Entry(**item["entry"])
            except (KeyError, TypeError):  # written by another version of newsdesk: drop, the feed brings it back
                continue
            article = self._article(entry, item.get("title") or parsed.title, url, result, retry,
                                    attempts=int(item.get("attempts", 0)))
            if article is not None and ident not in retry:
                articles.append(article)

        try:
            with self.lock or nullcontext():
                report.merge(self.indexer.sync_articles(articles))
        except Exception as exc:  # the store is unreachable or refuses: keep the old ETag, retry the whole poll
            log.exception("feed %s: indexing failed", url)
            return self._failed(url, st, result, f"cannot index: {exc}", None)

        if result.not_modified:
            fingerprints = known
        now = time.time()
        for item in retry.values():  # waits count from the end of this poll, however long indexing took
            if "wait" in item:
                item["next_try"] = now + item.pop("wait")
        result.next_poll = now + self.settings.feed_interval
        error = f"{len(report.failures)} failed: {report.failures[0]}" if report.failures else None
        if error:
            log.warning("feed %s: %s", url, error)
        fields: dict[str, Any] = dict(
            kind="feed", title=parsed.title, last_sync=now_iso(), last_attempt=now_iso(), error=error,
            error_at=now_iso() if error else st.get("error_at"), failures=0, next_poll_at=result.next_poll,
            next_poll=_iso(result.next_poll), entries=fingerprints, retry=retry,
        )
        if not result.not_modified:
            fields.update(etag=response.headers.get("etag"), modified=response.headers.get("last-modified"),
                          added=report.added, updated=report.updated, removed=0, failed=len(report.failures))
        self.state.update(url, **fields)
        return result

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
        return min(interval * 2 ** failures, max(self.settings.feed_max_backoff, interval))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
