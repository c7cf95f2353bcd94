"""RSS/Atom feeds read into entries: title, link, date, the best text the feed carries, and a fingerprint.

``index.sources.poller`` fetches feeds and indexes their entries. Safety: the feed body comes from the guarded
``index.sources.remote.Fetcher`` and is handed to feedparser as a stream (feedparser would open a *string* as a URL
or a local file path). Feeds declaring XML entities are refused before
parsing: feedparser keeps "safe" internal entities and, when expat stops an expansion bomb, its lenient fallback
parser expands them anyway (a 100 kB feed became 200 MB of text in 12 s when measured).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from html import unescape
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree
import feedparser

from index.sources.loaders import article_id, normalize_date
from index.sources.markup import html_to_text
from index.sources.remote import is_url

log = logging.getLogger(__name__)

FULL_TEXT_WORDS = 120
"""An entry with less text than this (or with text that ends in "…"/"Read more") is a summary: fetch the page."""
_TRUNCATED = re.compile(r"(\u2026|\.\.\.|\[\u2026\]|\[\.\.\.\]|read more|continue reading|more\s*»)\W*$", re.I)
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.I)


class FeedError(Exception):
    """The feed as a whole cannot be used this time; the message is the reason."""


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
