"""Votes on answers: one line each in ``feedback.jsonl``, counted by ``newsdesk status``, bad lines skipped."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from assistant.cli import main
from assistant.feedback import FeedbackLog
from assistant.settings import Settings
from assistant.types import Answer, Citation

if TYPE_CHECKING:
    import gradio as gr

    from assistant.web.page import WebApp

CITE = Citation(1, "a1", "Kyiv hit by 100 missiles", "Kyiv Post", "2024-01-02", "https://kp.example/kyiv",
                "Russia fired about 100 missiles at Kyiv.", 0, 40, 0.9, ((0, 20),))


def vote(log: FeedbackLog, which: str, comment: str = "") -> dict:
    return log.record(question="How many?", standalone_question="How many missiles hit Kyiv?",
                      answer="About 100 [1].", citations=[CITE], mode="offline", vote=which, comment=comment)


def test_a_vote_is_one_line_with_the_answer_and_its_sources(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    vote(log, "up")
    vote(log, "down", "  wrong number  ")
    lines = (tmp_path / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 2
    up, down = (json.loads(line) for line in lines)
    assert up["vote"] == "up" and up["comment"] == ""
    assert down["vote"] == "down" and down["comment"] == "wrong number"
    assert down["question"] == "How many?" and down["standalone_question"] == "How many missiles hit Kyiv?"
    assert down["answer"] == "About 100 [1]." and down["mode"] == "offline"
    assert down["citations"] == [{"n": 1, "title": "Kyiv hit by 100 missiles", "source": "Kyiv Post",
                                  "published": "2024-01-02", "url": "https://kp.example/kyiv"}]
    assert down["time"].endswith("Z") and down["time"][:4].isdigit()
    assert (tmp_path / "feedback.jsonl").stat().st_mode & 0o077 == 0, "questions may be private: owner only"
    with pytest.raises(ValueError):
        vote(log, "sideways")


def test_corrupt_lines_are_skipped_when_counting(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    assert log.counts().render() == "none"
    vote(log, "up")
    with log.path.open("ab") as f:
        f.write(b'{"vote": "up", "question": "half a line\n\xff\xfe not utf-8\n[1, 2]\n{"vote": "meh"}\n\n')
    vote(log, "down")
    vote(log, "up")
    counts = log.counts()
    assert (counts.up, counts.down) == (2, 1)
    assert counts.render() == "2 up, 1 down"


def test_concurrent_votes_never_interleave(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    threads = [threading.Thread(target=lambda: [vote(log, "up", "x" * 1500) for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = log.path.read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["comment"] == "x" * 1500 for line in lines)


def test_a_vote_is_written_in_well_under_a_millisecond(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    vote(log, "up")
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        vote(log, "down", "a comment")
    per_vote = (time.perf_counter() - start) / runs
    print(f"\nfeedback write: {per_vote * 1e6:.0f} µs a vote")
    assert per_vote < 0.005, f"{per_vote * 1e3:.2f} ms a vote"


def test_status_shows_the_counts(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(settings.home)
    assert main(["--home", home, "status"]) == 0
    assert "feedback:        none" in capsys.readouterr().out
    log = FeedbackLog(settings.home)
    for which in ("up", "up", "up", "down"):
        vote(log, which)
    with log.path.open("a") as f:
        f.write("not json\n")
    assert main(["--home", home, "status"]) == 0
    assert "feedback:        3 up, 1 down" in capsys.readouterr().out


class _StandIn:
    """What ``WebApp``'s vote and export handlers use of an Assistant: the day."""

    settings = None

    @staticmethod
    def today() -> date:
        return date(2026, 12, 2)


@pytest.fixture
def page(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> WebApp:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(settings.home / "gradio"))  # restored after: WebApp sets it
    from assistant.web.page import WebApp

    return WebApp(settings, assistant=_StandIn(), indexer=object())  # type: ignore[arg-type]


def like(index: int, liked: bool | str) -> gr.LikeData:
    import gradio as gr

    return gr.LikeData(None, {"index": index, "value": [], "liked": liked})


def session(name: str) -> gr.Request:
    import gradio as gr

    return gr.Request(session_hash=name)


def test_page_writes_a_vote_once_with_its_comment_or_when_the_next_comes(page: WebApp) -> None:
    turns = [("How many?", Answer("How many missiles?", "About 100 [1].", [CITE], False, "offline")),
             ("Who?", Answer("Who fired them?", "Russia [1].", [CITE], False, "offline"))]
    log = page.feedback
    shown = page.vote(turns, {}, session("a"), like(1, True))
    assert log.entries() == [], "held for its comment"
    assert shown[3]["feedback_value"] == ["Like", None] and shown[4] == {0: "Like"}, "the thumb stays pressed"
    page.vote(turns, {}, session("a"), like(3, False))  # the next vote writes the first as it was
    assert [(e["vote"], e["question"], e["comment"]) for e in log.entries()] == [("up", "How many?", "")]
    page.vote(turns, {}, session("b"), like(1, False))  # another browser's vote is its own
    page.comment("  not what I asked ", session("a"))
    assert [(e["vote"], e["standalone_question"], e["comment"]) for e in log.entries()][1:] == [
        ("down", "Who fired them?", "not what I asked")]
    page.vote(turns, {}, session("b"), like(1, ""))  # the thumb clicked again: the waiting vote is dropped
    page.session_closed(session("b"))
    assert len(log.entries()) == 2
    for index in (0, 2, 5, 99):  # a question, a refusal or an answer still streaming: not a vote
        page.vote(turns, {}, session("c"), like(index, True))
    page.vote(turns, {}, session("c"), like(3, True))
    page.session_closed(session("c"))  # the tab closed: written without a comment
    assert [e["vote"] for e in log.entries()] == ["up", "down", "up"]
    page.new_conversation(None, session("c"))  # nothing waiting: nothing written
    assert len(log.entries()) == 3
    page.vote(turns, {}, session("d"), like(1, False))
    page.new_conversation(None, session("d"))  # a new conversation writes the vote still waiting for its comment
    assert [e["vote"] for e in log.entries()] == ["up", "down", "up", "down"]


def test_page_download_file_is_the_conversation(page: WebApp) -> None:
    assert page.conversation_file([])["interactive"] is False
    turns = [("How many?", Answer("How many?", "About 100 [1].", [CITE], False, "offline"))]
    update = page.conversation_file(turns)
    path = Path(update["value"])
    assert path.name == "newsdesk-conversation-2026-12-02.md" and update["interactive"] is True
    assert path.is_relative_to(page.upload_cache), "in the server's private upload cache"
    assert "About 100 [1]." in path.read_text() and "Kyiv Post" in path.read_text()
