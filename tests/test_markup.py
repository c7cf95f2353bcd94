"""HTML inside JSON/JSONL/Markdown text fields is stored (and cited) as the plain text a reader sees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.settings import Settings
from index import Indexer
from index.sources.loaders import load_file
from index.sources.markup import html_to_text, plain_text

MARKUP = '<p>One &amp; two <a href="http://x">link text</a></p><script>evil()</script>'
TAG = re.compile(r"</?[a-z][a-z0-9]*[\s/>]|&[a-z]+;|&#\d+;", re.I)


def test_markup_becomes_plain_text() -> None:
    assert plain_text(MARKUP) == "One & two link text"
    assert plain_text("<p>First para</p>\n<p>Second <b>bold</b> para</p><style>p {}</style>") == \
        "First para\n\nSecond bold para"
    assert plain_text("Line one<br>Line two<br/><br>Para two &ndash; &#8220;quoted&#8221;<!-- note -->") == \
        "Line one\nLine two\n\nPara two – “quoted”"
    assert plain_text("<div>\n  pretty-printed\n  html\n</div>") == "pretty-printed html"
    # only inline tags: the text's own line breaks are kept
    assert plain_text("Para one.\n\nPara <em>two</em> &amp; more.\nSame para.") == \
        "Para one.\n\nPara two & more.\nSame para."
    assert html_to_text("<ul><li>one</li><li>two</li></ul><table><tr><td>A</td><td>B</td></tr></table>") == \
        "one\n\ntwo\n\nA B"


@pytest.mark.parametrize("text", [
    "Profits at AT&T rose 5% & costs fell; a < b and b > c, <3",
    "Mail <editor@example.org> or see <https://example.org/a?x=1&y=2>; template <Name> stays",
    "R&D; Q&A; &notanentity; x<y",
    "",
])
def test_plain_text_is_returned_untouched(text: str) -> None:
    assert plain_text(text) is text
    assert plain_text(text, markdown=True) is text


def test_a_less_than_that_is_not_a_tag_stays_text_next_to_real_markup() -> None:
    assert plain_text("<p>a < b, <3 and <https://example.org> &copy2024 AT&T</p>") == \
        "a < b, <3 and <https://example.org> &copy2024 AT&T"


def test_markdown_keeps_its_own_syntax_and_code() -> None:
    body = ("Some *emphasis* with <b>bold</b> &amp; a <https://example.org> link.  \nHard break kept.\n\n"
            "Inline `<div>` and `a &amp; b` code.\n\n```html\n<p>kept &amp; verbatim</p>\n```\n\nline<br>\nnext")
    assert plain_text(body, markdown=True) == (
        "Some *emphasis* with bold & a <https://example.org> link.  \nHard break kept.\n\n"
        "Inline `<div>` and `a &amp; b` code.\n\n```html\n<p>kept &amp; verbatim</p>\n```\n\nline\nnext")


def test_jsonl_text_and_title_are_stored_as_plain_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "export.jsonl"
    records = [
        {"id": "a1", "title": "Tom &amp; Jerry <em>return</em>", "text": MARKUP},
        {"id": "a2", "text": "<h1>Heading &amp; more</h1><p>Body text.</p>"},
        {"id": "a3", "title": "Markup only", "text": "<p><img src='x.png'></p><script>x()</script>"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    loaded = load_file(path, settings)
    first, second = loaded.articles
    assert (first.title, first.text) == ("Tom & Jerry return", "One & two link text")
    assert (second.title, second.text) == ("Heading & more", "Heading & more\n\nBody text.")
    assert [(f.line, f.reason) for f in loaded.failures] == [
        (3, "no article text (its text field holds only HTML markup)")]


def test_markdown_body_and_title_lose_embedded_html_only(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "story.md"
    path.write_text("---\ntitle: Floods &amp; storms\n---\n\nThe river rose <b>two metres</b> overnight.<br>\n"
                    "Roads closed.\n\n- item *one*\n- item two\n")
    article = load_file(path, settings).articles[0]
    assert article.title == "Floods & storms"
    assert article.text == "The river rose two metres overnight.\nRoads closed.\n\n- item *one*\n- item two"


def test_plain_text_articles_keep_their_content_hash(tmp_path: Path, settings: Settings) -> None:
    """Hashes as computed before the conversion existed: an index of plain-text articles re-syncs as a no-op."""
    record = {"id": "plain-1", "title": "AT&T and R&D: a < b, <3", "published": "2024-03-01",
              "text": "Profits at AT&T rose 5% & costs fell; a < b holds.\n\n  Second paragraph  with  spaces.\n",
              "url": "https://example.org/plain"}
    (tmp_path / "plain.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "plain.md").write_text(
        "---\ntitle: Q&A <with> AT&T\n---\n# Not a title\n\nBody with `code` & a <https://x.org> link.\n")
    hashes = [load_file(tmp_path / name, settings).articles[0].content_hash for name in ("plain.jsonl", "plain.md")]
    assert hashes == ["0e3c5304e423e19deec05657c1fe44cd56ae23fa0136868aab9acd766321b392",
                      "05f0b2a8ad6437cc3c932ccc0165bc2a341a3b8d9b201fa69f270170a7ba47ef"]


def test_answers_over_html_text_cite_plain_text_spans(tmp_path: Path, settings: Settings, indexer: Indexer,
                                                      embedder) -> None:
    path = tmp_path / "news" / "export.jsonl"
    path.parent.mkdir()
    html = ('<p>The harbour in Valparaiso reopened on Friday after a storm &amp; three days of repairs, '
            '<a href="https://example.org/port">the port authority said</a>.</p>'
            '<p>Forty-two vessels had waited at anchor&nbsp;outside the breakwater.<br>Cranes resumed work at '
            'noon.</p><script>document.write("<b>evil</b>")</script>')
    path.write_text(json.dumps({"url": "https://example.org/harbour", "title": "Harbour &amp; port reopen",
                                "text": html}) + "\n")
    report = indexer.sync([path.parent])
    assert report.added == 1 and report.failed == 0
    stored = load_file(path, settings).articles[0].text
    assert stored == ("The harbour in Valparaiso reopened on Friday after a storm & three days of repairs, the port "
                      "authority said.\n\nForty-two vessels had waited at anchor outside the breakwater.\nCranes "
                      "resumed work at noon.")

    assistant = Assistant(settings, store=indexer.store, embedder=embedder)
    answer = assistant.ask("When did the harbour in Valparaiso reopen?")
    assert not answer.refused, answer.text
    assert "Friday" in answer.text and not TAG.search(answer.text) and "evil" not in answer.text
    assert answer.citations and any(citation.quotes for citation in answer.citations)
    for citation in answer.citations:
        assert stored[citation.start:citation.end] == citation.text  # spans point into the stored plain text
        assert not TAG.search(citation.text) and citation.title == "Harbour & port reopen"
        for start, end in citation.quotes:
            assert not TAG.search(citation.text[start:end])
