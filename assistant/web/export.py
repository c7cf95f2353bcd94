"""Answers as Markdown to take away: one answer with its sources (the copy button), or the whole conversation (the
download).

Article text is untrusted and the Markdown may be opened in a viewer that renders HTML and follows links, so
everything from an article or a reader is inert text here: Markdown and HTML punctuation is backslash-escaped (read
as the literal character by any CommonMark renderer, and still readable as plain text), line starts that would open
a heading, list, quote or HTML block are escaped, and only http(s) urls become links. The ``[n]`` markers of an
answer stay as typed unless what follows could make them a link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from urllib.parse import quote

from assistant.types import Answer, Citation
from assistant.web.render import MARKER, merged_spans, safe_url

_PUNCTUATION = re.compile(r"([\\`*_\[\]<>&#|~!])")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")
_QUOTE_JOIN = " … "


def md_text(text: str, line_start: bool = True) -> str:
    """Text a Markdown renderer shows as it is: no markup, no HTML, no links, whatever the text holds.

    ``line_start=False`` for a piece continuing a line: its first line is not a line start (no block to escape)."""
    lines = [_PUNCTUATION.sub(r"\\\1", line) for line in text.split("\n")]
    return "\n".join(_LINE_START.sub(_escape_start, line.lstrip()) if i or line_start else line  # lstrip: no code
                     for i, line in enumerate(lines))


def _escape_start(m: re.Match[str]) -> str:
    lead, mark = m.group(1), m.group(2)
    return lead + (mark[:-1] + "\\" + mark[-1] if mark[-1] in ".)" else "\\" + mark)


def md_line(text: str) -> str:
    """One line of inert text (titles, sources, passages): newlines and runs of spaces become one space."""
    return md_text(" ".join(str(text).split()))


def answer_text(text: str) -> str:
    """The answer's text, escaped, keeping its ``[n]`` markers readable (they are only a link with ``(``/``[``/``:``
    after them, or with a ``[n]: url`` definition, which escaping every other ``[`` rules out)."""
    out: list[str] = []
    pos = 0
    for m in MARKER.finditer(text):
        if text[m.end():m.end() + 1] in ("(", "[", ":"):
            continue
        out.append(md_text(text[pos:m.start()], line_start=pos == 0))
        out.append("[" + ", ".join(re.findall(r"\d+", m.group(1))) + "]")
        pos = m.end()
    out.append(md_text(text[pos:], line_start=pos == 0))
    return "".join(out)


def link(url: str | None) -> str:
    """An http(s) url as an autolink (characters that would end it percent-encoded); any other url as plain text."""
    if not url:
        return ""
    safe = safe_url(url)
    if safe is None:
        return md_line(url)
    return "<" + quote(safe, safe="/:?#[]@!$&'()*+,;=%~-._") + ">"


def quoted(c: Citation) -> str:
    """What the answer used from the passage: its highlighted spans, else the whole passage."""
    spans = merged_spans(len(c.text), c.quotes)
    parts = [" ".join(c.text[s:e].split()) for s, e in spans] if spans else [" ".join(c.text.split())]
    return _QUOTE_JOIN.join(p for p in parts if p)


def source_markdown(c: Citation) -> str:
    """``[n] Title — source, date — url`` and the quoted passage under it."""
    meta = ", ".join(md_line(x) for x in (c.source, c.published or "") if x)
    head = " — ".join(x for x in (f"**{md_line(c.title or '(untitled)')}**", meta, link(c.url)) if x)
    passage = quoted(c)
    also = ", ".join(md_line(r.source or r.title or "(untitled)") for r in c.also_reported_by)
    return (f"- [{c.n}] {head}" + (f"\n\n  > {md_line(passage)}\n" if passage else "")
            + (f"\n  Also reported by {also}.\n" if also else ""))


def answer_markdown(answer: Answer) -> str:
    """One answer with its sources listed under it: what the copy button puts on the clipboard."""
    parts = []
    if answer.notice:
        parts.append(f"*{md_line(answer.notice)}*")
    parts.append(answer_text(answer.text.strip()))
    if answer.citations:
        parts.append("Sources:\n\n" + "\n".join(source_markdown(c) for c in answer.citations))
    else:
        parts.append("Sources: none (nothing in the articles answers this).")
    return "\n\n".join(parts).rstrip() + "\n"


def conversation_markdown(turns: Sequence[tuple[str, Answer]], day: date) -> str:
    """The whole conversation, every answer followed by its sources: the download."""
    out = [f"# newsdesk conversation, {day.isoformat()}\n"]
    for n, (question, answer) in enumerate(turns, 1):
        out.append(f"## Q{n}: {md_line(question)}\n")
        if " ".join(answer.question.split()) != " ".join(question.split()):
            out.append(f"*Answered as: {md_line(answer.question)}*\n")
        out.append(answer_markdown(answer))
    return "\n".join(out)


def conversation_file_name(day: date) -> str:
    return f"newsdesk-conversation-{day.isoformat()}.md"
