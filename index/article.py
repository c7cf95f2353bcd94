"""The article record every loader produces and everything downstream consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    article_id: str
    """Stable identity: explicit id, else url, else path(+line), else content hash."""
    title: str
    text: str
    published: str | None = None
    """ISO date (YYYY-MM-DD) when known."""
    source: str = ""
    url: str | None = None
    author: str | None = None
    origin: str = ""
    """Where it was read from: an absolute file path or a URL (deletions are scoped by it)."""
    line: int | None = None
    """Line number inside a JSONL file, or index inside a JSON list."""

    @property
    def content_hash(self) -> str:
        """Hash of what a reader sees; identical stories from two places share it."""
        payload = json.dumps(
            [self.title, self.text, self.published, self.source, self.url, self.author], ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def text_hash(self) -> str:
        """The story alone, ignoring where it came from: dedups the same text under two names or feeds."""
        normalized = " ".join(self.text.lower().split())
        return hashlib.sha256(normalized.encode("utf-8")).hexdigest()

    @property
    def location(self) -> str:
        return f"{self.origin}:{self.line}" if self.line is not None else self.origin


@dataclass(frozen=True)
class Failure:
    """A source that could not be indexed, with a one-line reason for the summary."""

    origin: str
    reason: str
    line: int | None = None

    @property
    def location(self) -> str:
        return f"{self.origin}:{self.line}" if self.line is not None else self.origin

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class Loaded:
    """What one file yielded: articles, per-item failures, and whether the file was read completely."""

    origin: str
    articles: list[Article] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    complete: bool = True
