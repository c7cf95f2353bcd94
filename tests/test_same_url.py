"""Articles sharing a url (their identity) but not their text are not duplicates: the later one is stored, and the
report says so apart from true duplicates. Files through the real indexer and CLI, a feed on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_http import LoopbackServer

import index.pipeline.writer
from assistant import Assistant
from assistant.settings import Settings
from index import Indexer
from index.sources.poller import FeedPoller
from index.sources.remote import Fetcher

NEWSDESK = Path(sys.executable).parent / "newsdesk"
QUIZ = "https://quiz.example.org/week-12"
Q1 = "Which city reopened its harbour after the storm? Valparaiso reopened its harbour on Friday."
Q2 = "Which council passed its budget by one vote? The city council of Leeds passed it on Saturday."
WIRE = {"url": "https://example.org/wire/1", "title": "Wire story",
        "text": "Ferries to the islands resumed on Sunday after the strike ended, the operator said."}


def write_quiz(folder: Path) -> Path:
    """Line 1 and line 3 share a url with different texts; lines 2 and 4 are the same story twice."""
    folder.mkdir(exist_ok=True)
    path = folder / "quiz.jsonl"
    lines = [{"url": QUIZ, "title": "Question 1", "text": Q1}, WIRE, {"url": QUIZ, "title": "Question 2", "text": Q2},
             WIRE]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def stored_passages(indexer: Indexer, article_id: str) -> list[str]:
    record = indexer.store.records_for([article_id])[article_id]
    got = indexer.store.chunks.get(where={"article_id": article_id}, include=["documents", "metadatas"])
    assert len(got["ids"]) == record.n_chunks, "exactly the committed version's passages are stored"
    assert {m["version"] for m in got["metadatas"]} == {record.version}
    return got["documents"]


def test_lines_sharing_a_url_keep_the_later_text_and_are_counted_apart(
        tmp_path: Path, settings: Settings, indexer: Indexer, embedder) -> None:
    path = write_quiz(tmp_path / "news")
    report = indexer.sync([path.parent])
    assert report.summary() == ("added 2, updated 0, unchanged 0, removed 0, failed 0 "
                                "(1 duplicate stored once; 1 sharing a url with different text: later kept)")
    rows = {(i.location, i.status): i.reason for i in report.items}
    assert rows[(f"{path}:3", "same-url")] == ("same url as line 1, different text: kept the later one; "
                                               "give each line an `id` to keep both")
    assert rows[(f"{path}:4", "duplicate")] == "same url and text as line 2"
    assert stored_passages(indexer, f"url:{QUIZ}") == [Q2]
    record = indexer.store.records()[f"url:{QUIZ}"]
    assert (record.title, record.line) == ("Question 2", 3)
    passages = Assistant(settings, store=indexer.store, embedder=embedder).search("council budget one vote", k=3)
    assert passages[0].text == Q2 and not any("Valparaiso" in p.text for p in passages)

    embedder.reset()
    again = indexer.sync([path.parent])
    assert again.summary() == ("added 0, updated 0, unchanged 2, removed 0, failed 0 "
                               "(1 duplicate stored once; 1 sharing a url with different text: later kept)")
    assert not again.changed and again.chunks_written == 0 and embedder.texts == []


def test_a_later_file_replaces_an_earlier_one_already_written_and_resyncs_as_a_noop(
        tmp_path: Path, indexer: Indexer, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Across files the earlier article may already be written when the later one comes: flush after every
    passage to make sure it is, then the store must still end with the later text and a re-sync write nothing."""
    monkeypatch.setattr(index.pipeline.writer, "FLUSH_CHUNKS", 1)
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"url": QUIZ, "title": "Question 1", "text": Q1}) + "\n"
                                    + json.dumps(WIRE) + "\n")
    (folder / "b.jsonl").write_text(json.dumps({"url": QUIZ, "title": "Question 2", "text": Q2}) + "\n")
    report = indexer.sync([folder])
    assert report.summary() == ("added 2, updated 0, unchanged 0, removed 0, failed 0 "
                                "(1 sharing a url with different text: later kept)")
    assert [(i.location, i.reason.split(",")[0]) for i in report.items if i.status == "same-url"] == [
        (f"{folder / 'b.jsonl'}:1", f"same url as {folder / 'a.jsonl'}:1")]
    assert stored_passages(indexer, f"url:{QUIZ}") == [Q2]
    assert indexer.store.counts() == (2, 2)

    for _ in range(2):
        embedder.reset()
        again = indexer.sync([folder])
        assert (again.added, again.updated, again.unchanged, again.same_url) == (0, 0, 2, 1)
        assert again.chunks_written == 0 and embedder.texts == []
    assert stored_passages(indexer, f"url:{QUIZ}") == [Q2]

    (folder / "b.jsonl").unlink()  # the later one gone: the earlier one's text is indexed again
    gone = indexer.sync([folder])
    assert (gone.updated, gone.unchanged, gone.same_url) == (1, 1, 0)
    assert stored_passages(indexer, f"url:{QUIZ}") == [Q1]


def test_cli_counts_lines_sharing_a_url_apart_and_names_the_earlier_line(tmp_path: Path) -> None:
    assert NEWSDESK.exists(), f"the newsdesk console script is not installed next to {sys.executable}"
    path = write_quiz(tmp_path / "news")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    env["NEWSDESK_HOME"] = str(tmp_path / "home")

    def index() -> list[str]:
        done = subprocess.run([NEWSDESK, "index", "--quiet", str(path.parent)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    same_url = (f"  same-url  {path}:3: same url as line 1, different text: kept the later one; "
                "give each line an `id` to keep both")
    assert index() == ["added 2, updated 0, unchanged 0, removed 0, failed 0 "
                       "(1 duplicate stored once; 1 sharing a url with different text: later kept)", same_url]
    assert index() == ["added 0, updated 0, unchanged 2, removed 0, failed 0 "
                       "(1 duplicate stored once; 1 sharing a url with different text: later kept)", same_url]
    done = subprocess.run([NEWSDESK, "search", "--json", "council budget one vote"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Q2 in done.stdout and Q1 not in done.stdout


def quiz_feed(base: str, *items: tuple[str, str]) -> str:
    entries = "".join(f"<item><title>{title}</title><link>{base}/quiz/week-12</link><description>{text}</description>"
                      "</item>" for title, text in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Quiz desk</title>'
            f"<link>{base}/</link><description>Weekly quiz</description>{entries}</channel></rss>")


def test_feed_entries_sharing_a_link_keep_the_later_text(settings: Settings, embedder) -> None:
    feed_settings = settings.model_copy(update={"allow_private_urls": True, "fetch_timeout": 5.0})
    indexer = Indexer(feed_settings, embedder=embedder)
    # Full-text entries (120+ words): indexed from the feed itself, the linked page is never fetched.
    first = " ".join([Q1] * 10)
    second = " ".join([Q2] * 10)
    with LoopbackServer() as server, Fetcher(feed_settings) as fetcher:
        server.add("/quiz.rss", quiz_feed(server.base, ("Question 1", first), ("Question 2", second),
                                          ("Question 2 again", second)), content_type="application/rss+xml")
        poller = FeedPoller(indexer, fetcher)
        url = server.url("/quiz.rss")
        result = poller.poll(url)
        assert result.error is None and result.report.summary() == (
            "added 1, updated 0, unchanged 0, removed 0, failed 0 "
            "(1 duplicate stored once; 1 sharing a url with different text: later kept)")
        rows = [(i.status, i.reason) for i in result.report.items if i.status != "added"]
        assert rows == [("same-url", "same link as entry 1, different text: kept the later one"),
                        ("duplicate", "same link and text as entry 2")]
        article_id = f"url:{server.url('/quiz/week-12')}"
        got = indexer.store.chunks.get(where={"article_id": article_id}, include=["documents"])
        assert got["documents"] and all("Leeds" in d and "Valparaiso" not in d for d in got["documents"])
        assert indexer.store.records()[article_id].title == "Question 2"
        assert server.count("/quiz/week-12") == 0

        embedder.reset()
        again = poller.poll(url)  # no ETag: fetched and parsed again, and every entry is known
        assert (again.report.added, again.report.updated, again.report.unchanged) == (0, 0, 1)
        assert again.report.same_url == 1 and embedder.texts == []


@pytest.mark.parametrize("new_file", ["0-first.jsonl", "z-last.jsonl"])
def test_text_an_article_was_edited_away_from_is_not_dropped_as_its_duplicate(
        tmp_path: Path, indexer: Indexer, new_file: str) -> None:
    """Giving a line its own url (or id), as the report advises, moves its text to a new identity while the old
    one takes other text: the moved text must be stored, whichever file comes first."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "m.jsonl").write_text(json.dumps({"url": QUIZ, "title": "Question 1", "text": Q1}) + "\n")
    indexer.sync([folder])
    (folder / "m.jsonl").write_text(json.dumps({"url": QUIZ, "title": "Question 2", "text": Q2}) + "\n")
    (folder / new_file).write_text(json.dumps({"url": QUIZ + "#q1", "title": "Question 1", "text": Q1}) + "\n")
    report = indexer.sync([folder])
    assert (report.added, report.updated, report.duplicates) == (1, 1, 0), report.summary()
    assert stored_passages(indexer, f"url:{QUIZ}") == [Q2]
    assert stored_passages(indexer, f"url:{QUIZ}#q1") == [Q1]
    assert indexer.sync([folder]).summary() == "added 0, updated 0, unchanged 2, removed 0, failed 0"
