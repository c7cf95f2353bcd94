"""HTML inside text fields -> the plain text a reader sees: tags dropped, link text kept, entities unescaped.

News exports carry markup in their JSON/JSONL ``text``/``body`` fields and Markdown bodies (``<p>``, ``<a href>``,
``<br>``, ``&amp;``); indexed raw it shows up in passages and answers. The converted text is what gets stored, so
the character spans citations carry point into plain text.

Plain text is never touched: ``plain_text`` returns its argument itself unless it holds a tag of a real HTML element,
a comment or an entity, so an article without markup keeps its content hash and a re-sync stays a no-op.

Parsing is lxml's HTML parser (libxml2, in C; trafilatura needs lxml anyway). Not the standard library's
``html.parser``: on this project's Python 3.11.7 it took 23.6 s for 200 kB of ``<a<a<a…`` (quadratic) and raised
AssertionError on ``<![<![…``; libxml2 took under 2 ms for each.
"""

from __future__ import annotations

import re
from html.entities import html5

from lxml import etree

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tr", "ul",
})
"""Elements that start and end a paragraph."""
_CELLS = frozenset({"td", "th"})
_SKIPPED = frozenset({
    "audio", "canvas", "embed", "frame", "frameset", "head", "iframe", "math", "noscript", "object", "script",
    "select", "style", "svg", "template", "textarea", "title", "video",
})
"""Elements whose contents a reader never sees as article text."""
_INLINE = frozenset({
    "a", "abbr", "acronym", "area", "b", "base", "bdi", "bdo", "big", "blink", "br", "button", "cite", "code", "col",
    "colgroup", "data", "del", "dfn", "em", "font", "i", "img", "input", "ins", "kbd", "label", "link", "map",
    "mark", "marquee", "meta", "meter", "nobr", "optgroup", "option", "output", "param", "picture", "progress", "q",
    "rp", "rt", "ruby", "s", "samp", "slot", "small", "source", "span", "strike", "strong", "sub", "sup", "tbody",
    "tfoot", "thead", "time", "track", "tt", "u", "var", "wbr",
})
_ELEMENTS = _BLOCKS | _CELLS | _SKIPPED | _INLINE
_NAMESPACED = re.compile(r"[a-z][a-z0-9]*:[a-z][a-z0-9-]*")
"""Word's ``<o:p>``, ``<st1:place>``: tags too."""

_TOKEN = re.compile(
    r"<(?P<slash>/?)(?P<tag>[A-Za-z][A-Za-z0-9:-]*)?"
    r"|&(?P<entity>#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,8};|[A-Za-z][A-Za-z0-9]{0,31};)?"
)
"""What may start markup: ``<`` (with a tag name) and ``&`` (with an entity)."""
_ROOT_END = re.compile(r"</(?:html|body)\s*>", re.I)
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)[^`\n]+\1(?!`)")
_WHITESPACE = re.compile(r"\s+")

_LINE, _PARAGRAPH = "\x001", "\x002"
"""Break markers while assembling: libxml2 text never holds NUL (it reads ``\\x00`` as U+FFFD)."""

_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
                           default_doctype=False, huge_tree=True)
"""``huge_tree``: without it libxml2 drops a text node over 10 MB whole, and the article would pass as empty."""


def plain_text(text: str, *, markdown: bool = False) -> str:
    """``text`` itself when it holds no HTML; else its plain text (see ``html_to_text``).

    Text with paragraph tags (``<p>``, ``<div>``, ``<br>``…) is HTML: line breaks inside it are spaces, blank lines
    paragraph breaks. Text with only inline tags or entities keeps its own line breaks, as Markdown always does (its
    code spans and fenced blocks are kept verbatim).
    """
    kind = _markup(text)
    if kind is None:
        return text
    return html_to_text(text, keep_whitespace=markdown or kind == "inline", markdown=markdown)


def html_to_text(html: str, *, keep_whitespace: bool = False, markdown: bool = False) -> str:
    """Plain text of an HTML fragment: link and inline text kept, tags dropped, ``<br>`` a line break, block
    elements paragraph breaks, entities unescaped, scripts/styles/comments dropped.

    ``<`` that does not open a real element (``a < b``, ``<3``, ``<https://…>``, ``<Name>``) stays text.
    ``keep_whitespace`` keeps the fragment's own line breaks; otherwise they are HTML's (blank lines still part
    paragraphs). Text with a lone surrogate comes back as it is, for the loader to report.
    """
    prepared = _prepare(html, markdown)
    try:
        data = f"<html><body>{prepared}</body></html>".encode()
    except UnicodeEncodeError:
        return html
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.LxmlError:  # libxml2 recovers from anything seen so far; should it not, index the text as it was
        return html
    if root is None:
        return ""
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        name = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if name in _SKIPPED:
                walker.skip_subtree()
                continue
            parts.append(_LINE if name == "br" else _PARAGRAPH if name in _BLOCKS else " " if name in _CELLS else "")
            if element.text:
                parts.append(element.text)
        else:
            parts.append(_PARAGRAPH if name in _BLOCKS else " " if name in _CELLS else "")
            if element.tail and element is not root:
                parts.append(element.tail)
    joined = "".join(parts)
    if not keep_whitespace:
        joined = _WHITESPACE.sub(_collapse, joined)
    return _assemble(joined, keep_whitespace)


def _markup(text: str) -> str | None:
    """None (no markup: a tag of a real element, a comment or a known entity), "inline" (only inline tags, entities,
    comments) or "block" (paragraph tags too). One regex pass, none at all for text without ``<`` or ``&``."""
    if "<" not in text and "&" not in text:
        return None
    found = None
    for match in _TOKEN.finditer(text):
        tag, entity = match["tag"], match["entity"]
        if tag is not None:
            if _is_element(tag, text, match.end()):
                name = tag.lower()
                if name in _BLOCKS or name in _CELLS or name == "br":
                    return "block"
                found = "inline"
        elif entity is not None:
            if entity.startswith("#") or entity in html5:
                found = "inline"
        elif match.group() == "<" and text.startswith("!--", match.end()):
            found = "inline"
    return found


def _is_element(tag: str, text: str, end: int) -> bool:
    """``<tag`` opens a real HTML element (not ``<https://…>`` or ``<Name>``) when followed by ``>``, ``/`` or space."""
    name = tag.lower()
    if name not in _ELEMENTS and not _NAMESPACED.fullmatch(name):
        return False
    following = text[end:end + 1]
    return following in ("", ">", "/") or following.isspace()


def _prepare(html: str, markdown: bool) -> str:
    """Escape what HTML would swallow but is text here; drop ``</body>``/``</html>``, after which libxml2 ignores
    everything."""
    if markdown:
        html = _protect_code(html)

    def escape(match: re.Match[str]) -> str:
        whole = match.group()
        if whole.startswith("&"):
            return whole if match["entity"] else "&amp;"  # "&copy2024" stays text, not "©2024"
        tag = match["tag"]
        if tag is not None and _is_element(tag, html, match.end()):
            return whole
        if tag is None and not match["slash"] and html.startswith(("!", "?"), match.end()):
            return whole  # comment, doctype, processing instruction: the parser drops them
        return "&lt;" + whole[1:]

    return _ROOT_END.sub("", _TOKEN.sub(escape, html))


def _protect_code(markdown: str) -> str:
    """Markdown code (fenced blocks, inline spans) escaped, so the parser hands it back verbatim."""
    out: list[str] = []
    fence = ""
    for line in markdown.splitlines(keepends=True):
        opener = _FENCE.match(line)
        if fence:
            out.append(_escape(line))
            marks = opener.group(1) if opener else ""
            if marks[:1] == fence[:1] and len(marks) >= len(fence) and not line.strip().strip(marks[:1]):
                fence = ""
        elif opener:
            fence = opener.group(1)
            out.append(_escape(line))
        else:
            out.append(_CODE_SPAN.sub(lambda m: _escape(m.group()), line) if "`" in line else line)
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _collapse(match: re.Match[str]) -> str:
    """HTML whitespace: a run is one space, unless it holds a blank line (a paragraph break in text exports)."""
    return _PARAGRAPH if match.group().count("\n") >= 2 else " "


def _assemble(joined: str, keep_whitespace: bool) -> str:
    """Turn break markers into newlines: adjacent breaks merge (at most one blank line), and the spaces around a
    break go. Kept whitespace counts: ``line<br>\\nline`` is one line break, not two."""
    pieces = joined.split("\x00")
    out = [pieces[0]]
    breaks = 0
    gap = ""
    for piece in pieces[1:]:
        breaks = min(2, breaks + int(piece[0]))
        rest = piece[1:]
        body = rest.lstrip()
        if not body:
            gap += rest
            continue
        previous = out[-1]
        kept = previous.rstrip()
        if keep_whitespace:
            around = previous[len(kept):] + gap + rest[:len(rest) - len(body)]
            breaks = max(breaks, min(2, around.count("\n")))
        out[-1] = kept
        out.append("\n" * breaks)
        out.append(body)
        breaks, gap = 0, ""
    return "".join(out).strip()
