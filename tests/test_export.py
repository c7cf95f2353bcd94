"""Answers as Markdown to take away (copy and download): sources listed, hostile article text inert when rendered."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from assistant.types import Answer, Citation, StoryMember
from assistant.web import export, render

PASSAGE = "Russia fired about 100 missiles at Kyiv overnight. Air defence shot down most of them, officials said."

KYIV = Citation(1, "a1", "Russia Pounds Kiev With 100 Missiles", "Kyiv Post", "2024-01-02",
                "https://kp.example/kyiv?a=1&b=<2>", PASSAGE, 0, len(PASSAGE), 0.9,
                ((0, 49), (51, 85), (60, 70)))
HOSTILE = Citation(2, "a2", "Petition <img src=x onerror=alert(1)> [x](javascript:alert(2))", "Harbour <b>Watch</b>",
                   None, "javascript:alert(3)",
                   "<script>alert(4)</script>\n# Heading\n- item\n[click](javascript:alert(5)) ![i](http://x/y.png) "
                   "&lt;b&gt; `code` **bold** <https://evil.example> [1]: javascript:alert(6)", 0, 10, 0.5)


def answer(text: str, *citations: Citation, question: str = "How many missiles hit Kyiv?") -> Answer:
    return Answer(question, text, list(citations), refused=not citations, mode="offline")


def test_copy_text_lists_the_sources_under_the_answer() -> None:
    text = export.answer_markdown(answer("Russia fired about 100 missiles [1].", KYIV))
    body, sources = text.split("Sources:")
    assert body.strip() == "Russia fired about 100 missiles [1]."
    assert "- [1] **Russia Pounds Kiev With 100 Missiles** — Kyiv Post, 2024-01-02 — " in sources
    assert "<https://kp.example/kyiv?a=1&b=%3C2%3E>" in sources, "a web link, kept whole"
    # the highlighted spans, merged where they overlap, not the whole passage
    assert "> Russia fired about 100 missiles at Kyiv overnight … Air defence shot down most of them" in sources
    assert "officials said" not in sources


def test_a_citation_without_quotes_gives_its_passage() -> None:
    whole = Citation(3, "a3", "T", "S", None, None, "Line one.\n\n  Line   two.", 0, 5, 0.1)
    assert "> Line one. Line two." in export.answer_markdown(answer("x [3]", whole))


def test_other_outlets_of_the_story_are_named() -> None:
    wire = StoryMember("w1", "Wire *Service*", "Kyiv hit", "https://wire.example/k", "2024-01-03")
    text = export.answer_markdown(answer("Russia fired about 100 missiles [1].", replace(KYIV, also_reported_by=(
        wire, StoryMember("d1", "", "Daily copy", "", "")))))
    assert "  Also reported by Wire \\*Service\\*, Daily copy." in text


def test_refusal_says_there_are_no_sources() -> None:
    assert "Sources: none" in export.answer_markdown(answer("Nothing in the articles answers this."))


def test_conversation_has_every_answer_and_its_sources() -> None:
    turns = [("How many missiles?", answer("About 100 [1].", KYIV)),
             ("and the petition?", answer("It was signed [2].", HOSTILE, question="What did the petition say?"))]
    md = export.conversation_markdown(turns, date(2026, 12, 2))
    assert md.startswith("# newsdesk conversation, 2026-12-02\n")
    assert md.index("## Q1: How many missiles?") < md.index("About 100 [1].") < md.index("Kyiv Post")
    assert md.index("## Q2: and the petition?") < md.index("*Answered as: What did the petition say?*")
    assert md.index("It was signed [2].") < md.index("- [2] **Petition")
    assert export.conversation_file_name(date(2026, 12, 2)) == "newsdesk-conversation-2026-12-02.md"


@pytest.mark.parametrize("renderer", ["commonmark", "gfm-like"])
def test_hostile_article_text_stays_inert_when_the_markdown_is_rendered(renderer: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    md = export.conversation_markdown([("<script>alert(7)</script> [q](javascript:alert(8))",
                                        answer("Signed [2](javascript:alert(9)) <b>x</b> [2].", HOSTILE))],
                                      date(2026, 12, 2))
    html = markdown_it.MarkdownIt(renderer, {"html": True, "linkify": False}).render(md)
    for tag in ("<script", "<img", "<b>", "<h1>Heading", "<li>item", "<code>", "<strong>bold"):
        assert tag not in html, f"{tag} made it into the rendered Markdown"
    links = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert links == [], f"links from article text or the question: {links}"
    # ... and the text is all there, as text
    for shown in ("&lt;script&gt;alert(4)&lt;/script&gt;", "[click](javascript:alert(5))", "# Heading",
                  "&lt;img src=x onerror=alert(1)&gt;", "javascript:alert(3)", "&amp;lt;b&amp;gt;"):
        assert shown in html, f"{shown!r} not shown literally"


def test_only_web_links_become_links() -> None:
    assert export.link("https://a.example/x y>z") == "<https://a.example/x%20y%3Ez>"
    assert export.link("javascript:alert(1)") == "javascript:alert(1)"
    assert export.link("data:text/html,<b>") == "data:text/html,\\<b\\>"
    assert export.link(None) == ""


def test_panel_copy_button_carries_the_text_escaped() -> None:
    copy = export.answer_markdown(answer('Signed "here" <b>x</b> [2].', HOSTILE))
    html = render.sources_html([("q", answer("Signed [2].", HOSTILE))], [copy])
    assert 'class="nd-copy"' in html and "<script>" not in html and "<b>Watch" not in html
    assert render.esc(copy) in html


def test_markers_keep_the_spaces_around_them_and_lines_stay_escaped() -> None:
    text = export.answer_text("Kyiv was hit [1] and 5 died [1, 2].\n - not a list [2](javascript:x)")
    assert text == "Kyiv was hit [1] and 5 died [1, 2].\n\\- not a list \\[2\\](javascript:x)"
