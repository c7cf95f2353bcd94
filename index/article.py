"""The article record every loader produces and everything downstream consumes."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

_SURROGATE = re.compile("[\ud800-\udfff]")
"""Lone surrogates: Python strings hold them (a JSON or YAML ``"\\udc00"`` escape, a file name with bytes that are
not UTF-8, which os.walk yields surrogate-escaped), but UTF-8 cannot encode them, so hashing one raises."""
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
"""Control characters, line/paragraph separators, bidi controls and lone surrogates: in a file name or a reason they
would split a report line, drive the terminal (ESC), reorder what is shown, or fail to encode."""
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` as one safe line: unprintable characters escaped, a file name's non-UTF-8 byte shown as ``\\xff``."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def unencodable(text: str) -> str | None:
    """Why ``text`` cannot be stored (its first lone surrogate and position), or None when UTF-8 can encode it."""
    match = _SURROGATE.search(text)
    if match is None:
        return None
    return f"lone surrogate U+{ord(match.group()):04X} at character {match.start() + 1:,}"


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

    def invalid(self) -> str | None:
        """Why this article cannot be stored, or None: checked before hashing, chunking or Chroma ever see it."""
        for name in ("title", "text", "article_id", "published", "source", "url", "author", "origin"):
            value = getattr(self, name)
            problem = unencodable(value) if isinstance(value, str) else None
            if problem:
                shown = {"article_id": "the id", "origin": "the location"}.get(name, f"the {name}")
                return f"{shown} contains an invalid character ({problem})"
        return None


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
        """One line whatever the file is called: control characters and undecodable bytes come out escaped."""
        return printable(f"{self.location}: {self.reason}")


@dataclass
class Loaded:
    """What one file yielded: articles, per-item failures, and whether the file was read completely."""

    origin: str
    articles: list[Article] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    complete: bool = True
