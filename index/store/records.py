"""The manifest's record of one article: what a sync compares against, and which version readers may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)  # a sync holds one per stored article: slots save ~250 bytes each
class ArticleRecord:
    article_id: str
    content_hash: str
    text_hash: str
    """Whitespace- and case-insensitive hash of the text alone: the same story from two places."""
    version: str
    """Committed version; empty while the article's first version is still being written."""
    pending: str
    origin: str
    line: int
    n_chunks: int
    title: str
    source: str
    published: str
    url: str
    story: str = ""
    """The story group this article belongs to (see ``index.pipeline.stories``); empty until its version is
    committed, or for an article stored before story grouping existed (grouped on the next sync)."""

    @classmethod
    def from_meta(cls, article_id: str, meta: dict[str, Any]) -> ArticleRecord:
        return cls(
            article_id=article_id,
            content_hash=str(meta.get("hash", "")),
            text_hash=str(meta.get("text_hash", "")),
            version=str(meta.get("version", "")),
            pending=str(meta.get("pending", "")),
            origin=str(meta.get("origin", "")),
            line=int(meta.get("line", -1)),
            n_chunks=int(meta.get("n_chunks", 0)),
            title=str(meta.get("title", "")),
            source=str(meta.get("source", "")),
            published=str(meta.get("published", "")),
            url=str(meta.get("url", "")),
            story=str(meta.get("story", "")),
        )

    def to_meta(self) -> dict[str, Any]:
        return {
            "hash": self.content_hash, "text_hash": self.text_hash, "version": self.version,
            "pending": self.pending, "origin": self.origin,
            "line": self.line, "n_chunks": self.n_chunks, "title": self.title, "source": self.source,
            "published": self.published, "url": self.url, "story": self.story,
        }

    def member(self) -> StoryMember:
        return StoryMember(self.article_id, self.source, self.title, self.url, self.published)


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One article of a story group, as a citation lists it (``Store.story_members``)."""

    article_id: str
    source: str
    title: str
    url: str
    published: str
