"""Follow-up questions and relative dates, offline and through the LLM's condense prompt."""

from __future__ import annotations

from datetime import date

import pytest
from openai_server import Recorded, Reply, ScriptedOpenAI

from assistant import Assistant, Turn
from assistant.chat import absolute_dates, follow_up, is_follow_up, standalone

PUTIN = "putin-duel-kyiv-strike-2024-12-20"
FIRST = "How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?"


@pytest.fixture
def assistant(settings, indexer, news_dir, embedder) -> Assistant:
    assert indexer.sync([news_dir]).added == 2
    helper = Assistant(settings, store=indexer.store, embedder=embedder)
    helper.today = lambda: date(2024, 12, 21)
    return helper


def test_offline_follow_up_is_answered_about_the_same_event(assistant: Assistant) -> None:
    first = assistant.ask(FIRST)
    assert "five ballistic missiles" in first.text
    history = [Turn(first.question, first.text)]
    follow = assistant.ask("and how many were intercepted?", history)
    assert "intercepted" in follow.question and "20 December 2024" in follow.question
    assert not follow.refused, follow.text
    assert "all five missiles were intercepted" in follow.text
    assert all(PUTIN in c.article_id for c in follow.citations)
    # Without the history the same words name no event: retrieval has nothing to anchor on.
    alone = assistant.ask("and how many were intercepted?")
    assert alone.question == "and how many were intercepted?"


def test_relative_dates_become_absolute(assistant: Assistant) -> None:
    answer = assistant.ask("How many ballistic missiles did Russia launch at Kyiv yesterday?")
    assert answer.question == "How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?"
    assert not answer.refused and "five ballistic missiles" in answer.text


@pytest.mark.parametrize("text,expected", [
    ("What happened yesterday?", "What happened on 20 December 2024?"),
    ("strikes last week", "strikes between 9 December 2024 and 15 December 2024"),
    ("news from this month", "news from December 2024"),
    ("attacks in the past 3 days", "attacks since 18 December 2024"),
    ("strikes two days ago", "strikes on 19 December 2024"),
    ("What did Putin say last Friday?", "What did Putin say on 20 December 2024?"),
    ("What did Putin say last Saturday?", "What did Putin say on 14 December 2024?"),
    ("Who won last year?", "Who won in 2023?"),
    ("What did Putin say about the Oreshnik?", "What did Putin say about the Oreshnik?"),
])
def test_absolute_dates(text: str, expected: str) -> None:
    assert absolute_dates(text, date(2024, 12, 21)) == expected


def test_follow_up_detection() -> None:
    history = [Turn("How many missiles hit Kyiv on 2 January 2024?", "About 100 [1].")]
    assert is_follow_up("and how many were intercepted?", history)
    assert is_follow_up("Who ordered it?", history)
    assert is_follow_up("How many were killed?", history)
    assert not is_follow_up("What did Putin propose at his press conference?", history)
    assert not is_follow_up("and how many were intercepted?", [])


def test_follow_up_rewrites() -> None:
    history = [Turn("How many missiles hit Kyiv on 2 January 2024?", "About 100 [1].")]
    assert follow_up("and how many were intercepted?", history) == \
        "How many were intercepted (missiles hit Kyiv on 2 January 2024)?"
    assert follow_up("what about Kharkiv?", history) == "How many missiles hit Kharkiv on 2 January 2024?"
    assert follow_up("And what about 20 December 2024?", history) == \
        "How many missiles hit Kyiv on 20 December 2024?"
    assert follow_up("What did Putin propose?", history) == "What did Putin propose?"
    # A chain of follow-ups keeps the original subject.
    chained = history + [Turn("How many were intercepted (missiles hit Kyiv on 2 January 2024)?", "[1]")]
    assert "Kyiv on 2 January 2024" in follow_up("and how many were killed?", chained)


def test_llm_condenses_the_follow_up(settings, assistant: Assistant) -> None:
    rewritten = "How many of the ballistic missiles launched at Kyiv on 20 December 2024 were intercepted?"

    def answer(request: Recorded) -> Reply:
        user = request.messages[-1]["content"]
        if "<conversation>" in user:
            return Reply(rewritten)
        return Reply("All five were intercepted [1].")

    with ScriptedOpenAI(default=answer) as server:
        llm_settings = settings.model_copy(update={"openai_base_url": server.base_url, "llm_model": "m",
                                                   "llm_timeout": 2.0, "llm_retries": 0})
        llm = Assistant(llm_settings, store=assistant.store, embedder=assistant.embedder)
        llm.today = assistant.today
        history = [Turn(FIRST, "Russia launched five ballistic missiles [1].")]
        result = llm.ask("and how many were intercepted?", history)
        condense, generate = server.requests
        assert "<conversation>" in condense.messages[-1]["content"]
        assert FIRST in condense.messages[-1]["content"]
        assert "Last message: and how many were intercepted?" in condense.messages[-1]["content"]
        assert "Today is 2024-12-21" in condense.messages[-1]["content"]
        assert condense.body.get("stream") in (None, False)
        assert result.question == rewritten
        assert rewritten in generate.messages[-1]["content"]
        assert result.text == "All five were intercepted [1]." and result.mode == "llm:m"


def test_condense_failure_falls_back_to_the_heuristic(settings, assistant: Assistant) -> None:
    with ScriptedOpenAI(default=Reply.failure(503)) as server:
        llm_settings = settings.model_copy(update={"openai_base_url": server.base_url, "llm_model": "m",
                                                   "llm_timeout": 2.0, "llm_retries": 0})
        llm = Assistant(llm_settings, store=assistant.store, embedder=assistant.embedder)
        history = [Turn(FIRST, "Russia launched five ballistic missiles [1].")]
        question, notice = standalone("and how many were intercepted?", history, date(2024, 12, 21), llm.llm)
        assert question == "How many were intercepted (ballistic missiles Russia launch at Kyiv on 20 December 2024)?"
        assert notice and "HTTP 503" in notice
