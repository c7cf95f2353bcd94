"""Main-text extraction from article pages, shared by the file loader and the feed/URL fetcher."""

from __future__ import annotations

import json
from dataclasses import dataclass

import trafilatura

MIN_WORDS = 25
"""Less than this after extraction is a navigation or index page, not an article."""


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    published: str | None
    source: str
    url: str | None
    author: str | None


def extract_article(html: str, url: str | None = None) -> Extracted | None:
    """The page's main text and metadata (og:, article:published_time), or None when there is no article."""
    # favor_precision: without it trafilatura's fallback extractors return a menu's link texts as the "article".
    raw = trafilatura.extract(
        html, url=url, output_format="json", with_metadata=True, include_comments=False, include_tables=False,
        favor_precision=True,
    )
    if not raw:
        return None
    data = json.loads(raw)
    text = (data.get("text") or "").strip()
    title = " ".join((data.get("title") or "").split())
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and rest.strip():
        text = rest.strip()
    if len(text.split()) < MIN_WORDS:
        return None
    return Extracted(
        title=title,
        text=text,
        published=data.get("date"),
        source=data.get("source-hostname") or data.get("sitename") or data.get("hostname") or "",
        url=data.get("url") or data.get("source") or url,  # trafilatura's JSON puts the page URL in "source"
        author=data.get("author"),
    )
