"""A passage as it crosses every boundary (``Passage``), and its stored form.

One schema: ``passage_meta`` is the only writer of a passage's Chroma metadata and ``passage_from`` its only reader;
chunk ids are built (``chunk_id``) and parsed (``chunk_version``) here only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from index.store.records import StoryMember


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with everything needed to cite and highlight it."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    published: str | None
    url: str | None
    text: str
    start: int
    """Character span of ``text`` in the article's text."""
    end: int
    score: float
    origin: str = ""
    story: str = ""
    """The article's story group, filled by ``Store.committed`` from the manifest (passages do not store it: see
    ``store.py``); its members come from ``Store.story_members``."""
    also_reported_by: tuple[StoryMember, ...] = ()
    """The story's other articles, earliest first: filled by retrieval, which keeps one member per story."""


def article_key(article_id: str) -> str:
    return hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:20]


def chunk_id(article_id: str, version: str, index: int) -> str:
    """``<article key>:<version>:<index>``: the version in the id lets a reader tell a committed passage from a
    half-written one without reading its metadata (see ``Store.committed``)."""
    return f"{article_key(article_id)}:{version[:16]}:{index}"


def chunk_version(passage_id: str) -> str:
    """The article version a passage was written for (the inverse of ``chunk_id``)."""
    return passage_id.split(":")[1]


def date_number(iso: str | None) -> int:
    """Publication date as YYYYMMDD: Chroma range filters compare numbers, not strings. 0 when unknown."""
    if not iso:
        return 0
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return 0
    return day.year * 10000 + day.month * 100 + day.day


def passage_meta(*, article_id: str, version: str, index: int, start: int, end: int, chunk_hash: str, title: str,
                 published: str | None, source: str, url: str | None, author: str | None, origin: str,
                 indexed_at: str) -> dict[str, Any]:
    """The metadata stored with a passage. ``date`` repeats ``published`` as a number for Chroma's ``where``."""
    return {
        "article_id": article_id, "version": version, "chunk": index,
        "start": start, "end": end, "chunk_hash": chunk_hash,
        "title": title, "published": published or "", "date": date_number(published),
        "source": source, "url": url or "", "author": author or "",
        "origin": origin, "indexed_at": indexed_at,
    }


def passage_from(passage_id: str, text: str, meta: dict[str, Any], score: float = 0.0) -> Passage:
    """A stored passage read back (``meta`` as ``passage_meta`` wrote it)."""
    return Passage(
        chunk_id=passage_id,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        published=str(meta.get("published") or "") or None,
        url=str(meta.get("url") or "") or None,
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=float(score),
        origin=str(meta.get("origin", "")),
    )
