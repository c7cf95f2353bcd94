"""Every supported format read into articles: fields, aliases, dates and the article_id rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.settings import Settings
from index.article import Loaded
from index.sources.loaders import article_id, load_file

STORY = (
    "A powerful storm struck the northern coast on Tuesday, flooding streets in three fishing towns and cutting "
    "power to thousands of homes, officials said. Emergency crews worked through the night to clear fallen trees."
)


def load(path: Path, settings: Settings) -> Loaded:
    loaded = load_file(path, settings)
    assert loaded.failures == [], [str(f) for f in loaded.failures]
    return loaded


def only(path: Path, settings: Settings):
    loaded = load(path, settings)
    assert len(loaded.articles) == 1
    return loaded.articles[0]


# -- plain text ---------------------------------------------------------------------------------------------------


def test_txt_first_nonempty_line_is_title_and_date_comes_from_file_name(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "storm-hits-coast-2024-03-05.txt"
    path.write_text(f"\n\n  Storm hits the northern coast  \n\n{STORY}\n\nSecond paragraph.\n")
    article = only(path, settings)
    assert article.title == "Storm hits the northern coast"
    assert article.text == f"{STORY}\n\nSecond paragraph."
    assert article.published == "2024-03-05"
    assert article.article_id == f"file:{path.absolute()}"
    assert article.origin == str(path.absolute()) and article.line is None
    assert article.url is None and article.source == ""


def test_txt_without_a_date_in_the_name_has_no_date(tmp_path: Path, settings: Settings) -> None:
    for name in ("storm.txt", "storm-2024-13-45.txt"):  # the second is not a real date
        path = tmp_path / name
        path.write_text(f"Storm\n{STORY}\n")
        assert only(path, settings).published is None


def test_txt_single_line_is_both_title_and_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "brief.txt"
    path.write_text("Parliament passes the budget after a night-long debate\n")
    article = only(path, settings)
    assert article.title == article.text == "Parliament passes the budget after a night-long debate"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_txt_with_a_byte_order_mark_decodes(tmp_path: Path, settings: Settings, encoding: str) -> None:
    text = f"Café owners protest — “rent is too high”\n{STORY}\n"
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    path = tmp_path / "cafe.txt"
    path.write_bytes(data)
    article = only(path, settings)
    assert article.title == "Café owners protest — “rent is too high”"
    assert article.text == STORY


# -- Markdown -----------------------------------------------------------------------------------------------------


def test_markdown_front_matter_fields(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "storm.md"
    path.write_text(
        "---\n"
        "title: Storm hits the northern coast\n"
        "date: 2024-03-05\n"
        "source: Daily Planet\n"
        "author: Lois Lane\n"
        "---\n"
        f"# A heading inside the body\n\n{STORY}\n"
    )
    article = only(path, settings)
    assert article.title == "Storm hits the northern coast"
    assert article.published == "2024-03-05"
    assert article.source == "Daily Planet"
    assert article.author == "Lois Lane"
    assert article.text.startswith("# A heading inside the body") and "title:" not in article.text
    assert article.article_id == f"file:{path.absolute()}"


def test_markdown_aliases_url_id_and_author_list(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "flood-2020-01-01.md"
    path.write_text(
        "---\n"
        "headline: Flood warning for the river valley\n"
        "published: 'Tue, 05 Mar 2024 08:30:00 GMT'\n"
        "link: https://planet.example.com/2024/03/flood/\n"
        "authors: [Lois Lane, Clark Kent]\n"
        "---\n"
        f"{STORY}\n"
    )
    article = only(path, settings)
    assert article.title == "Flood warning for the river valley"
    assert article.published == "2024-03-05", "front matter beats the date in the file name"
    assert article.url == "https://planet.example.com/2024/03/flood/"
    assert article.article_id == "url:https://planet.example.com/2024/03/flood"
    assert article.source == "planet.example.com", "no source given: the url's host stands in"
    assert article.author == "Lois Lane, Clark Kent"
    path.write_text(path.read_text().replace("headline:", "id: planet-4711\nheadline:"))
    assert only(path, settings).article_id == "id:planet-4711", "an explicit id beats the url"


def test_markdown_without_front_matter_takes_heading_as_title(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "2023-11-30-election.md"
    path.write_text(f"# Election results are in\n\n{STORY}\n")
    article = only(path, settings)
    assert article.title == "Election results are in"
    assert article.text == STORY
    assert article.published == "2023-11-30"


# -- HTML ---------------------------------------------------------------------------------------------------------

PAGE = f"""<!doctype html>
<html><head>
<title>Storm hits coast | Daily Planet</title>
<meta property="og:title" content="Storm hits the northern coast">
<meta property="og:site_name" content="Daily Planet">
<meta property="og:url" content="https://planet.example.com/2024/03/storm">
<meta property="article:published_time" content="2024-03-05T08:30:00Z">
<meta name="author" content="Lois Lane">
<script>var tracking = "SCRIPT-TEXT-MUST-NOT-BE-INDEXED";</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/subscribe">Subscribe to our newsletter today</a></li></ul></nav>
<header><div class="menu">Menu Login Register Search the archive</div></header>
<main><article>
<h1>Storm hits the northern coast</h1>
<p>{STORY}</p>
<p>The regional weather office said the storm was the strongest to reach the area in more than a decade and
warned of further heavy rain later in the week.</p>
</article></main>
<footer>Copyright Daily Planet. All rights reserved. Privacy policy. Cookie settings.</footer>
</body></html>
"""


def test_html_metadata_and_main_text_without_boilerplate(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "storm.html"
    path.write_text(PAGE)
    article = only(path, settings)
    assert article.title == "Storm hits the northern coast"
    assert article.published == "2024-03-05"
    assert article.source == "Daily Planet"
    assert article.author == "Lois Lane"
    assert article.url == "https://planet.example.com/2024/03/storm"
    assert article.article_id == "url:https://planet.example.com/2024/03/storm"
    assert STORY in " ".join(article.text.split())
    assert "strongest to reach the area" in article.text
    for boilerplate in ("Subscribe to our newsletter", "Menu Login", "All rights reserved", "SCRIPT-TEXT"):
        assert boilerplate not in article.text
    assert not article.text.startswith("Storm hits the northern coast"), "the headline is the title, not the text"


def test_htm_without_metadata_falls_back_to_file_name(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "council-vote-2022-06-01.htm"
    path.write_text(f"<html><body><article><p>{STORY}</p><p>{STORY}</p></article></body></html>")
    article = only(path, settings)
    assert article.published == "2022-06-01"
    assert article.article_id == f"file:{path.absolute()}"
    assert STORY in article.text


def test_html_that_is_only_navigation_is_reported(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "index.html"
    links = "".join(f'<li><a href="/s{i}">Section {i}</a></li>' for i in range(40))
    path.write_text(f"<html><head><title>Home</title></head><body><nav><ul>{links}</ul></nav></body></html>")
    loaded = load_file(path, settings)
    assert loaded.articles == []
    assert [f.reason for f in loaded.failures] == ["no article text found in the HTML (navigation or boilerplate only)"]


# -- JSON and JSONL -----------------------------------------------------------------------------------------------


def test_json_single_article_with_aliases(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({
        "headline": "Storm hits the northern coast", "body": STORY, "published_at": "2024-03-05T08:30:00Z",
        "source": {"id": "planet", "name": "Daily Planet"}, "byline": [{"name": "Lois Lane"}],
    }))
    article = only(path, settings)
    assert (article.title, article.text, article.published) == ("Storm hits the northern coast", STORY, "2024-03-05")
    assert article.source == "Daily Planet" and article.author == "Lois Lane"
    assert article.article_id == f"file:{path.absolute()}" and article.line is None


def test_json_list_gives_one_article_per_item_with_id_rules(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "list.json"
    items = [
        {"id": 4711, "title": "Explicit id", "content": STORY, "url": "https://x.example/a", "date": "2024-03-05"},
        {"title": "Url only", "text": STORY + " Two.", "link": "https://x.example/b/", "date": 1709625600},
        {"title": "Neither", "content": STORY + " Three.", "date": "March 5, 2024"},
    ]
    path.write_text(json.dumps(items))
    articles = load(path, settings).articles
    assert [a.article_id for a in articles] == ["id:4711", "url:https://x.example/b", f"file:{path.absolute()}#2"]
    assert [a.line for a in articles] == [0, 1, 2]
    assert [a.published for a in articles] == ["2024-03-05"] * 3
    assert articles[0].text == STORY and articles[1].text == STORY + " Two."


def test_json_wrapper_object_with_articles_list(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"status": "ok", "articles": [{"title": "A", "text": STORY}]}))
    assert only(path, settings).title == "A"


def test_json_item_without_title_takes_first_line_of_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "untitled.json"
    path.write_text(json.dumps({"text": "Storm hits the coast\n" + STORY}))
    assert only(path, settings).title == "Storm hits the coast"


def test_jsonl_one_article_per_line_with_line_numbers(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"title": "First", "text": STORY, "published": "2024-03-01"}),
        "",
        json.dumps({"title": "Second", "body": STORY + " Second.", "url": "https://x.example/2"}),
        json.dumps({"guid": "wire-3", "title": "Third", "content": STORY + " Third."}),
    ]
    path.write_text("\n".join(lines) + "\n")
    articles = load(path, settings).articles
    assert [a.title for a in articles] == ["First", "Second", "Third"]
    assert [a.line for a in articles] == [1, 3, 4], "line numbers count blank lines, as an editor shows them"
    assert [a.article_id for a in articles] == [f"file:{path.absolute()}#1", "url:https://x.example/2", "id:wire-3"]
    assert articles[0].location == f"{path.absolute()}:1"


def test_nested_values_are_never_taken_as_metadata(tmp_path: Path, settings: Settings) -> None:
    deep: object = "x"
    for _ in range(100):
        deep = {"name": deep}
    path = tmp_path / "nested.json"
    path.write_text(json.dumps({"title": ["not", "a", "title"], "text": STORY, "source": deep,
                                "author": [[["x"]]], "url": {"href": "https://x.example"}, "date": {"y": 2024}}))
    article = only(path, settings)
    assert article.title == STORY.split("\n", 1)[0][:120]
    assert (article.source, article.author, article.url, article.published) == ("", None, None, None)
    assert article.article_id == f"file:{path.absolute()}"


# -- article_id rules ---------------------------------------------------------------------------------------------


def test_article_id_precedence() -> None:
    assert article_id("a1", "https://x.example/p", "/n/f.jsonl", 3, "text") == "id:a1"
    assert article_id(0, None, "", None, "text") == "id:0", "a zero id is still an id"
    assert article_id(None, "https://x.example/p/", "/n/f.jsonl", 3, "text") == "url:https://x.example/p"
    assert article_id("", None, "/n/f.jsonl", 3, "text") == "file:/n/f.jsonl#3"
    assert article_id(None, None, "/n/f.txt", None, "text") == "file:/n/f.txt"
    by_hash = article_id(None, None, "", None, "the same story")
    assert by_hash.startswith("sha:") and by_hash == article_id(None, None, "", None, "the same story")
    assert by_hash != article_id(None, None, "", None, "another story")


def test_moving_an_article_with_a_url_keeps_its_id(tmp_path: Path, settings: Settings) -> None:
    body = json.dumps({"title": "T", "text": STORY, "url": "https://x.example/story"})
    (tmp_path / "a.json").write_text(body)
    (tmp_path / "b.json").write_text(body)
    assert only(tmp_path / "a.json", settings).article_id == only(tmp_path / "b.json", settings).article_id


def test_a_one_line_text_file_gets_a_short_title_and_keeps_its_text(tmp_path: Path, settings: Settings) -> None:
    line = " ".join(f"word{i}" for i in range(2000))
    path = tmp_path / "one-line.txt"
    path.write_text(line + "\n")
    (article,) = load_file(path, settings).articles
    assert len(article.title) <= 202 and article.title.endswith(" …")
    assert line.startswith(article.title[:-2])
    assert article.text == line


def test_a_json_file_over_its_limit_is_refused_with_a_jsonl_hint(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: the size is checked before anything is read
        handle.truncate(int(settings.max_json_mb * 1024 * 1024) + 1)
    loaded = load_file(path, settings)
    assert not loaded.articles and not loaded.complete
    (failure,) = loaded.failures
    assert "file too large" in failure.reason and ".jsonl" in failure.reason
