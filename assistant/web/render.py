"""HTML for the web chat: answers with linked ``[n]`` markers, the sources panel, the library panel, the date filters.

Article text is untrusted: everything that comes from an article (titles, passages, sources, urls) and from the user
is escaped here, in one place, before it reaches the page. Answers go into Gradio's Chatbot, which renders Markdown
and HTML, so their text is escaped for both (HTML entities plus Markdown backslash escapes); the panels are plain
HTML and only need HTML escaping. Links are only made from http(s) urls.
"""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

from assistant.query import period_text
from assistant.types import Answer, Citation, StoryMember
from index.pipeline.report import SyncReport
from index.pipeline.status import Status

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
"""``[3]`` or ``[1, 2]`` in an answer."""

_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKDOWN_PUNCTUATION = set("\\`*_{}[]()#+-.!|~$:=^")


def esc(text: object) -> str:
    """HTML-escape for the panels (quotes too: values also land in attributes)."""
    return html.escape(str(text), quote=True)


def md_escape(text: str) -> str:
    """Text that Chatbot's Markdown + HTML rendering shows literally, character by character.

    Each character is replaced once (entity or backslash escape), so an entity is never escaped again.
    """
    return "".join(_HTML_ENTITIES.get(ch) or ("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch) for ch in text)


def source_anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def answer_markdown(text: str, citations: Sequence[Citation], turn: int, notice: str | None = None) -> str:
    """An answer for the Chatbot: escaped text, ``[n]`` of known citations turned into chips linking to the sources
    panel (``cite_html``).

    While the answer streams the citations are not known yet, so markers show as plain text until it completes.
    """
    known = {c.n: c for c in citations}
    text = _unindent(text)
    out: list[str] = []
    if notice:  # inside an HTML block Markdown is not interpreted: HTML escaping only
        out.append(f'<div class="nd-notice">⚠ {esc(" ".join(notice.split()))}</div>\n\n')
    pos = 0
    for m in MARKER.finditer(text):
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        if not any(n in known for n in numbers):
            continue
        out.append(md_escape(text[pos:m.start()]))
        out.append("".join(cite_html(known[n], turn) if n in known else md_escape(f"[{n}]") for n in numbers))
        pos = m.end()
    out.append(md_escape(text[pos:]))
    return "".join(out)


def cite_html(c: Citation, turn: int) -> str:
    """One ``[n]`` chip: a link to the cited passage with a preview (title, then source and date) that ``style.CSS``
    shows on hover and on keyboard focus, and "Source 1: <title>, <date>" as its name.

    The Chatbot's sanitizer keeps only ``class``, ``href``, ``title``, ``role``, ``id`` and ``lang`` (measured in
    Chromium: ``aria-*`` and ``data-*`` are dropped), so the name travels as ``title`` and ``style.HEAD``'s script
    makes it the ``aria-label``. The visible text stays ``[n]`` (copies and exports quote the answer as shown); the
    preview is hidden (``display: none``) until shown. The title attribute is HTML-escaped (raw HTML: no Markdown
    there); the preview's text sits between tags, where Markdown applies, so it is escaped for both."""
    title = " ".join((c.title or "(untitled)").split())
    day = day_text(c.published or "")
    name = f"Source {c.n}: {title}" + (f", {day}" if day else "")
    meta = " · ".join(x for x in (" ".join((c.source or "").split()), day) if x)
    tip = f'<span class="nd-tip-title">{md_escape(title)}</span>'
    if meta:
        tip += f'<span class="nd-tip-meta">{md_escape(meta)}</span>'
    return (f'<a class="nd-cite" href="#{source_anchor(turn, c.n)}" title="{esc(name)}">[{c.n}]'
            f'<span class="nd-tip">{tip}</span></a>')


def question_markdown(text: str) -> str:
    return md_escape(_unindent(text))


def _unindent(text: str) -> str:
    """Leading spaces would make an indented code block, where escapes show literally."""
    return "\n".join(line.lstrip(" \t") for line in text.split("\n"))


def safe_url(url: str | None) -> str | None:
    """Only web links become clickable: an article's ``javascript:`` or ``data:`` url stays text."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


def merged_spans(length: int, quotes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Quote spans inside a passage of ``length`` characters: clipped, sorted, overlaps merged."""
    spans: list[list[int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in quotes):
        if end <= start:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(s, e) for s, e in spans]


BLANK_LINES = re.compile(r"\n[^\S\n]*(?:\n[^\S\n]*)+")
"""Two or more line breaks with only spaces between: an article's empty paragraphs."""
GAP = '\n<span class="nd-gap"></span>'
"""What a run of blank lines shows as: one line break and a half-line gap (``style.CSS``), not several empty lines."""


def highlighted(text: str, quotes: Iterable[tuple[int, int]]) -> str:
    """The passage with the spans the answer used wrapped in ``<mark>``; everything escaped.

    Runs of blank lines become ``GAP``. Spans are offsets into the passage as stored, so the text is cut at span
    edges first and each piece collapsed on its own: a span keeps its words, and one starting or ending inside a
    run of blank lines still covers the words it quoted."""
    out: list[str] = []
    pos = 0
    for start, end in merged_spans(len(text), quotes):
        out.append(_collapsed(text[pos:start]))
        out.append(f'<mark class="nd-quote">{_collapsed(text[start:end])}</mark>')
        pos = end
    out.append(_collapsed(text[pos:]))
    return "".join(out)


def _collapsed(text: str) -> str:
    return GAP.join(esc(part) for part in BLANK_LINES.split(text))


def citation_html(c: Citation, turn: int) -> str:
    url = safe_url(c.url)
    title = esc(c.title or "(untitled)")
    title_html = (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
                  if url else title)
    meta = " · ".join(x for x in (esc(c.source or ""), time_html(c.published or "")) if x)
    link = "" if url or not c.url else f'<div class="nd-url">{esc(c.url)}</div>'
    return (
        f'<div class="nd-source" id="{source_anchor(turn, c.n)}" data-n="{c.n}">'
        f'<div class="nd-source-head"><span class="nd-n">[{c.n}]</span> '
        f'<span class="nd-title">{title_html}</span></div>'
        f'<div class="nd-meta">{meta}</div>{link}'
        f'<div class="nd-passage">{highlighted(c.text, c.quotes)}</div>'
        f"{also_html(c.also_reported_by)}</div>"
    )


def also_html(reports: Sequence[StoryMember]) -> str:
    """The other outlets that carried the story: each linked (when a web link) and dated."""
    if not reports:
        return ""
    items = []
    for r in reports:
        url = safe_url(r.url)
        name = esc(r.source or r.title or "(untitled)")
        named = (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow" title="{esc(r.title)}">'
                 f"{name}</a>" if url else f'<span title="{esc(r.title)}">{name}</span>')
        items.append(f"<li>{named}" + (f" · {time_html(r.published)}" if r.published else "") + "</li>")
    return f'<div class="nd-also">Also reported by:<ul>{"".join(items)}</ul></div>'


def sources_html(turns: Sequence[tuple[str, Answer]], copies: Sequence[str] = ()) -> str:
    """The sources panel: the latest answer's citations open on top, earlier answers folded below.

    ``copies`` holds each turn's answer with its sources as Markdown (``export``): its group gets a button putting
    that text on the clipboard (``style.HEAD``'s script); the text sits escaped in an attribute, never as markup."""
    if not turns:
        return '<div class="nd-sources nd-empty">Sources of the answer appear here.</div>'
    groups: list[str] = []
    for turn in range(len(turns), 0, -1):
        question, answer = turns[turn - 1]
        if answer.citations:
            body = "".join(citation_html(c, turn) for c in answer.citations)
        elif answer.refused:
            body = '<div class="nd-none">No sources: nothing in the articles answers this.</div>'
        else:  # stopped before its sources, or a generated answer that cites nothing: its notice says which
            body = f'<div class="nd-none">No sources. {esc(answer.notice or "")}</div>'
        is_open = " open" if turn == len(turns) else ""
        copy = (f'<button type="button" class="nd-copy" data-copy="{esc(copies[turn - 1])}" '
                f'aria-label="Copy answer with sources (answer {turn})">Copy answer with sources</button>'
                if turn <= len(copies) else "")
        groups.append(f'<details class="nd-turn" id="nd-turn-{turn}"{is_open}>'
                      f'<summary>Q{turn}: {esc(question)}</summary>{copy}{body}</details>')
    return '<div class="nd-sources">' + "".join(groups) + "</div>"


def mode_html(mode: str, base_url: str | None = None) -> str:
    if mode.startswith("llm:"):
        where = f" at {esc(urlsplit(base_url).netloc or base_url)}" if base_url else ""
        label = f"LLM answers: <b>{esc(mode[4:])}</b>{where} (offline extractive answer if it fails)"
    else:
        label = "<b>Offline</b>: extractive answers quoted from the articles, no LLM"
    return f'<div class="nd-mode" data-mode="{esc(mode)}">Mode: {label}</div>'


def library_html(status: Status, now: datetime | None = None) -> str:
    """Counts and last sync for the library panel (see ``index.pipeline.status``); syncs read as "2 min ago".

    Articles without a source are not a source: they are counted under Articles only."""
    sources = sum(1 for name in status.sources if name)
    rows = [("Articles", f"{status.articles:,}"), ("Passages (chunks)", f"{status.chunks:,}"),
            ("Sources", f"{sources:,}"), ("Last sync", ago_html(status.last_sync, now))]
    for w in status.watched:
        state = f"synced {ago_html(w.get('last_sync'), now)}, {esc(plural(w.get('articles', 0), 'article'))}"
        if w.get("error"):
            state += f", last error: {esc(w['error'])}"
        rows.append((f"Watching {w.get('source')}", state))
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td data-field="{esc(k.split()[0].lower())}">{v}</td></tr>'
                   for k, v in rows)
    return f'<table class="nd-library">{body}</table>'


def source_choices(names: Iterable[str]) -> list[tuple[str, str]]:
    """The Sources filter's choices: named sources only (an article without one has nothing to pick it by)."""
    return [(name, name) for name in sorted({n for n in names if n}, key=str.casefold)]


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def progress_html(label: str, done: int, total: int, articles: int, chunks: int) -> str:
    """ "Re-index: 3/10 files, 2 articles, 40 passages written"; "Upload: starting…" before anything is counted."""
    bar = f'<progress value="{done}" max="{total}"></progress>' if total else "<progress></progress>"
    counts = [f"{done}/{total} files"] if total else []
    if total or articles or chunks:
        counts += [plural(articles, "article"), f"{plural(chunks, 'passage')} written"]
    said = ", ".join(counts) or "starting…"
    return f'<div class="nd-progress" data-state="running">{bar} {esc(label)}: {esc(said)}</div>'


STATUS_ORDER = {"failed": 0, "added": 1, "updated": 2, "removed": 3, "same-url": 4, "same-id": 4, "duplicate": 5}


def report_html(label: str, report: SyncReport, rejected: Sequence[tuple[str, str]] = ()) -> str:
    """Summary line plus one row per changed or failed article (unchanged ones are only counted)."""
    items = [(name, "", "failed", reason) for name, reason in rejected]
    items += [(_short(i.location), i.title, i.status, i.reason) for i in report.items]
    items.sort(key=lambda row: STATUS_ORDER.get(row[2], 9))
    failed = report.failed + len(rejected)
    summary = (f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
               f"removed {report.removed}, failed {failed}")
    rows = "".join(
        f'<tr class="nd-{esc(status)}"><td class="nd-status">{esc(status)}</td><td>{esc(title or name)}'
        f'{"" if not title else f"<div class=nd-loc>{esc(name)}</div>"}</td><td>{esc(reason)}</td></tr>'
        for name, title, status, reason in items
    )
    if report.unlisted:
        rows += f'<tr class="nd-unlisted"><td></td><td>… and {report.unlisted:,} more not listed</td><td></td></tr>'
    table = (f'<table class="nd-results"><tr><th>result</th><th>article</th><th>reason</th></tr>{rows}</table>'
             if rows else "")
    return (f'<div class="nd-report" data-state="done"><b>{esc(label)} done</b> in {report.seconds:.1f} s: '
            f"{esc(summary)}{table}</div>")


def date_picker_html(field: str, label: str) -> str:
    """The calendar button beside a date field; ``style.HEAD``'s script opens the month view and fills ``field``."""
    icon = ('<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" stroke="currentColor" '
            'stroke-width="2"><rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4"/></svg>')
    return (f'<button type="button" class="nd-pick" data-for="{esc(field)}" aria-haspopup="dialog" '
            f'aria-expanded="false" aria-label="Calendar for {esc(label)}" title="Pick a day">{icon}</button>')


def dates_html(since: date | None = None, until: date | None = None, error: str | None = None) -> str:
    """How the From/To filters read: the period searched, or why a value can't be read (one line, naming the field)."""
    if error:
        return f'<div class="nd-dates nd-error" role="alert" data-state="error">{esc(error)}</div>'
    return f'<div class="nd-dates" role="status" data-state="read">Dates: {esc(period_text(since, until))}</div>'


def filters_in_use_html(since: date | None = None, until: date | None = None, sources: Sequence[str] = (),
                        error: str | None = None) -> str:
    """The filters the next answer uses, shown under the question box; nothing when there are none.

    Set in the Filters tab, they are easy to forget once the Sources tab is back in front."""
    if error:
        return f'<div class="nd-in-use nd-error" role="status">Filters: {esc(error)}</div>'
    parts = [period_text(since, until)] if since or until else []
    if sources:
        parts.append("from " + ", ".join(sources))
    if not parts:
        return ""
    return f'<div class="nd-in-use" role="status">Answers search only {esc(" · ".join(parts))} (Filters tab)</div>'


def newest_html(newest: date | None) -> str:
    """The newest article's day; the calendar opens on its month (``data-newest``) rather than on today's."""
    if newest is None:
        return '<div class="nd-newest">No dated articles yet</div>'
    return (f'<div class="nd-newest" data-newest="{newest.isoformat()}">Newest article: '
            f'{esc(period_text(newest, newest))}</div>')


def day_text(value: str) -> str:
    """An article's date as people write it: "2024-12-20" (or a timestamp) reads "20 Dec 2024"; anything else as is."""
    m = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", value or "")
    if not m:
        return value or ""
    try:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return value
    return f"{day.day} {calendar.month_abbr[day.month]} {day.year}"


def time_html(value: str) -> str:
    """``day_text`` in a ``<time>`` element keeping the ISO date for machines (and on hover)."""
    shown = day_text(value)
    if shown == value:
        return esc(value)
    return f'<time datetime="{esc(value.strip())}" title="{esc(value.strip())}">{esc(shown)}</time>'


def ago(stamp: str | None, now: datetime | None = None) -> str:
    """How long ago a sync was: "just now", "2 min ago", "3 h ago", "yesterday", "4 days ago", then the day.

    ``style.HEAD``'s script recounts it every 30 s in the page (the same steps), so an open page does not say
    "just now" for an hour."""
    if not stamp:
        return "never"
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - then).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 2 * 86400:
        return "yesterday"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return day_text(then.date().isoformat())


def ago_html(stamp: str | None, now: datetime | None = None) -> str:
    """``ago`` in a ``<time class="nd-ago">`` the page's script keeps current; the timestamp shows on hover."""
    said = ago(stamp, now)
    if not stamp or said == stamp:
        return esc(said)
    return f'<time class="nd-ago" datetime="{esc(stamp)}" title="{esc(stamp)}">{esc(said)}</time>'


def feedback_html(message: str) -> str:
    """The line under the chat saying what became of a vote (empty until there is one)."""
    return f'<div class="nd-feedback-note" role="status">{esc(message)}</div>'


def error_html(message: str) -> str:
    return f'<div class="nd-report nd-error" data-state="error">{esc(message)}</div>'


def _short(location: str) -> str:
    """File name (and line) rather than a long absolute path."""
    return location.replace("\\", "/").rsplit("/", 1)[-1]
