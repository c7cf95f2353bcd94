"""Read one article file (txt, md, html, json, jsonl) into `Article` records; ``files`` finds the files.

Every problem becomes a `Failure` with a one-line reason instead of an exception, so one bad file never stops a
sync and never touches what is already indexed.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from index.article import Article, Failure, Loaded, unencodable
from index.settings import IndexSettings
from index.sources.files import COLLECTIONS, SUPPORTED
from index.sources.html import extract_article
from index.sources.markup import plain_text

MAX_TITLE_CHARS = 200
_FILENAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?", re.S)
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "article_id", "guid", "uuid"),
    "title": ("title", "headline", "name"),
    "text": ("text", "body", "content", "article", "full_text"),
    "published": ("published", "published_at", "date", "pubDate", "publishedAt", "datetime", "created_at"),
    "source": ("source", "site", "publisher", "outlet", "source_name"),
    "url": ("url", "link", "href"),
    "author": ("author", "authors", "byline"),
}


class LoadError(Exception):
    """A whole file cannot be read; the message is the one-line reason."""


def load_file(path: Path, settings: IndexSettings) -> Loaded:
    """Read one file. Never raises for bad content: reasons land in ``Loaded.failures``."""
    origin = str(path.absolute())
    loaded = Loaded(origin=origin)
    suffix = path.suffix.lower()
    try:
        if unencodable(origin):
            raise LoadError(_bad_name(path))
        if suffix not in SUPPORTED:
            raise LoadError(f"unsupported file type '{suffix or path.name}' (takes {', '.join(sorted(SUPPORTED))})")
        if path.is_symlink() and not path.exists():
            raise LoadError("broken symbolic link (its target does not exist)")
        size = path.stat().st_size
        limit_mb = {".json": settings.max_json_mb}.get(
            suffix, settings.max_collection_mb if suffix in COLLECTIONS else settings.max_file_mb)
        if size > limit_mb * 1024 * 1024:
            hint = "; split it into a .jsonl file (one article a line), which streams" if suffix == ".json" else ""
            raise LoadError(f"file too large ({size / 1048576:.1f} MB > {limit_mb:g} MB limit){hint}")
        if size == 0:
            raise LoadError("empty file")
        if suffix in {".jsonl", ".ndjson"}:
            _load_jsonl(path, origin, settings, loaded)
        else:
            text = decode(path.read_bytes())
            if suffix == ".json":
                _load_json(text, origin, path, settings, loaded)
            elif suffix in {".html", ".htm"}:
                _add(loaded, _html_article(text, origin, path), settings)
            elif suffix in {".md", ".markdown"}:
                _add(loaded, _markdown_article(text, origin, path), settings)
            else:
                _add(loaded, _text_article(text, origin, path), settings)
    except LoadError as exc:
        loaded.failures.append(Failure(origin, str(exc)))
        loaded.complete = False
    except OSError as exc:
        loaded.failures.append(Failure(origin, f"cannot read: {exc.strerror or exc}"))
        loaded.complete = False
    except Exception as exc:  # a parser choking on hostile input fails this file only, never the whole run
        loaded.failures.append(Failure(origin, f"cannot be loaded ({type(exc).__name__}: {str(exc)[:160]})"))
        loaded.complete = False
    return loaded


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is refused, never guessed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(f"invalid UTF-16 text at byte {exc.start}") from None
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None


def _bad_name(path: Path) -> str:
    """The reason for a path with bytes that are not UTF-8: it could be neither hashed, stored nor shown as is."""
    where = "file name" if unencodable(path.name) else "name of a folder in its path"
    code = next(ord(c) for c in str(path.absolute()) if unencodable(c))
    what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"
    return f"the {where} is not valid UTF-8 ({what}); rename it"


def _add(loaded: Loaded, item: Article | Failure, settings: IndexSettings) -> None:
    """Every article a file yields passes here: what could not be hashed or stored fails alone, with its line."""
    if isinstance(item, Article) and len(item.text) > settings.max_article_chars:
        item = Failure(item.origin, f"article too long ({len(item.text):,} characters > "
                                    f"{settings.max_article_chars:,} limit)", item.line)
    if isinstance(item, Article) and (problem := item.invalid()):
        item = Failure(item.origin, f"{problem}; re-save the file as UTF-8", item.line)
    if isinstance(item, Failure):
        loaded.failures.append(item)
    else:
        loaded.articles.append(item)


def _text_article(text: str, origin: str, path: Path) -> Article:
    """Plain text: the first non-empty line is the title, the rest is the body."""
    lines = text.strip().splitlines()
    if not lines:
        raise LoadError("no text (only whitespace)")
    title = lines[0].strip()
    body = "\n".join(lines[1:]).strip() or title
    return _make(origin, title=title, text=body, published=_date_from_name(path))


def _markdown_article(text: str, origin: str, path: Path) -> Article:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise LoadError(f"bad YAML front matter: {str(exc).splitlines()[0]}") from None
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[match.end():]
    body = text.strip()
    if not body:
        raise LoadError("no text after the front matter")
    title = _scalar(_field(meta, "title"))
    if not title:
        first, _, rest = body.partition("\n")
        title = first.lstrip("#").strip()
        body = rest.strip() or body
    body = plain_text(body, markdown=True)  # embedded HTML tags and entities only: Markdown itself stays as written
    if not body:
        raise LoadError("no text (only HTML markup)")
    return _make(
        origin,
        explicit_id=_scalar(_field(meta, "id")),
        title=plain_text(title),
        text=body,
        published=normalize_date(_field(meta, "published")) or _date_from_name(path),
        source=_field(meta, "source"),
        url=_field(meta, "url"),
        author=_author(_field(meta, "author")),
    )


def _html_article(html: str, origin: str, path: Path) -> Article:
    extracted = extract_article(html)
    if extracted is None:
        raise LoadError("no article text found in the HTML (navigation or boilerplate only)")
    return _make(
        origin,
        title=extracted.title or path.stem,
        text=extracted.text,
        published=extracted.published or _date_from_name(path),
        source=extracted.source,
        url=extracted.url,
        author=extracted.author,
    )


def _load_json(text: str, origin: str, path: Path, settings: IndexSettings, loaded: Loaded) -> None:
    data = _parse_json(text)
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        _add(loaded, _record_article(data, origin, None), settings)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _add(loaded, _record_article(item, origin, i), settings)
        if not data:
            raise LoadError("empty JSON list")
    else:
        raise LoadError(f"JSON must be an article object or a list of them, not {type(data).__name__}")


def _load_jsonl(path: Path, origin: str, settings: IndexSettings, loaded: Loaded) -> None:
    """Streams line by line so a large feed file never sits in memory whole; a bad line fails alone."""
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = _parse_json(decode(raw).strip())
            except LoadError as exc:
                loaded.failures.append(Failure(origin, str(exc), lineno))
                continue
            _add(loaded, _record_article(record, origin, lineno), settings)
    if not loaded.articles and not loaded.failures:
        raise LoadError("no articles (only blank lines)")


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = exc.msg.removesuffix(" at")  # "Unterminated string starting at" would read "... at at line 1"
        raise LoadError(f"malformed JSON: {msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise LoadError("malformed JSON: nested too deeply") from None


def _record_article(record: Any, origin: str, line: int | None) -> Article | Failure:
    if not isinstance(record, dict):
        return Failure(origin, f"expected a JSON object, got {type(record).__name__}", line)
    text = _field(record, "text")
    if not isinstance(text, str) or not text.strip():
        return Failure(origin, "no article text (expected a 'text', 'body' or 'content' field)", line)
    text = plain_text(text).strip()  # exports carry HTML in their text fields: store (and cite) what a reader sees
    if not text:
        return Failure(origin, "no article text (its text field holds only HTML markup)", line)
    title = _scalar(_field(record, "title"))
    title = plain_text(title) if title else None
    return _make(
        origin,
        line=line,
        explicit_id=_scalar(_field(record, "id")),
        title=title or text.split("\n", 1)[0][:120],
        text=text,
        published=normalize_date(_field(record, "published")),
        source=_field(record, "source"),
        url=_field(record, "url"),
        author=_author(_field(record, "author")),
    )


def _make(
    origin: str,
    *,
    title: str,
    text: str,
    line: int | None = None,
    explicit_id: Any = None,
    published: str | None = None,
    source: Any = None,
    url: Any = None,
    author: str | None = None,
) -> Article:
    url = _scalar(url)
    if isinstance(source, dict):
        source = source.get("name") or source.get("title")
    source_name = _scalar(source) or ""
    if not source_name and url:
        source_name = urlsplit(url).hostname or ""
    return Article(
        article_id=article_id(explicit_id, url, origin, line, text),
        title=_short_title(title),
        text=text,
        published=published,
        source=source_name,
        url=url,
        author=author,
        origin=origin,
        line=line,
    )


def article_id(explicit: Any, url: str | None, origin: str, line: int | None, text: str) -> str:
    """Explicit id, else url, else path(+line), else content hash: the first that exists."""
    if explicit not in (None, ""):
        return f"id:{explicit}"
    if url:
        return f"url:{url.rstrip('/')}"
    if origin:
        return f"file:{origin}" + (f"#{line}" if line is not None else "")
    return "sha:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _short_title(title: str) -> str:
    """Titles show in every citation: a one-line file whose whole text is its "title" must not flood the UI."""
    flat = " ".join(title.split())
    if len(flat) <= MAX_TITLE_CHARS:
        return flat
    return flat[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-") + " …"


def _field(record: dict[str, Any], name: str) -> Any:
    for key in _ALIASES[name]:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def _scalar(value: Any) -> str | None:
    """A field as text when it is a plain string or number: nested JSON/YAML values are never metadata."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value).strip() or None


def _author(value: Any) -> str | None:
    if isinstance(value, list):
        names = [_scalar(v.get("name")) if isinstance(v, dict) else _scalar(v) for v in value]
        return ", ".join(n for n in names if n) or None
    if isinstance(value, dict):
        return _scalar(value.get("name"))
    return _scalar(value)


def normalize_date(value: Any) -> str | None:
    """Any common date spelling (ISO, RFC 822, epoch seconds) as YYYY-MM-DD; None when unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.utcfromtimestamp(float(value)).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:
        from dateutil import parser as date_parser

        return date_parser.parse(text).date().isoformat()
    except (ValueError, OverflowError):
        return None


def _date_from_name(path: Path) -> str | None:
    match = _FILENAME_DATE.search(path.name)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None
