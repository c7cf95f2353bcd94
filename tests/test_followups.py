"""Suggested follow-ups: about the people, places and days of the cited articles, never one the question already
names, and never a dead end: each suggestion is answered from the articles with a sentence the answer did not show."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.assistant import Assistant
from assistant.followups import MAX_CHECKED, MAX_SUGGESTIONS, Scope, candidates, quoted, suggest
from assistant.settings import Settings
from index import Indexer


@pytest.fixture
def assistant(settings: Settings, indexer: Indexer, news_dir: Path, embedder) -> Assistant:
    indexer.sync([news_dir])
    return Assistant(settings, store=indexer.store, embedder=embedder)


@pytest.mark.parametrize("question", ["How many missiles were fired in the January attack?",
                                      "What did Putin propose?"])
def test_suggestions_lead_somewhere_new(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    shown = suggest(assistant, answer)
    assert 1 <= len(shown) <= MAX_SUGGESTIONS, shown
    for follow_up in candidates(answer)[:MAX_CHECKED]:
        reply = assistant.ask(follow_up, offline=True)
        leads_on = not reply.refused and bool(quoted(reply) - quoted(answer))
        if follow_up in shown:
            assert leads_on, f"{follow_up!r} is a dead end: {reply.text}"
        elif len(shown) < MAX_SUGGESTIONS:
            assert not leads_on, f"{follow_up!r} answers something new but was not suggested"


def test_candidates_come_from_the_cited_articles_not_the_question(assistant: Assistant) -> None:
    answer = assistant.ask("What did Putin propose?")
    asked = candidates(answer)
    assert "What did Volodymyr Zelensky say?" in asked
    assert not any("Putin" in q for q in asked), "the question names Putin already"
    assert not any(q.endswith("in Ukrainian?") for q in asked), "a demonym is not a place"
    assert "What else happened on 20 December 2024?" in asked
    assert asked.index("What did Volodymyr Zelensky say?") < asked.index("What happened in Ukraine?"), \
        "kinds take turns; rare places before common ones"


def test_no_suggestions_under_a_refusal_and_filters_are_kept(assistant: Assistant) -> None:
    refused = assistant.ask("What did the Pope say about the Kyiv strikes?")
    assert refused.refused and suggest(assistant, refused) == []
    answer = assistant.ask("How many missiles were fired in the January attack?")
    assert suggest(assistant, answer, Scope(since=date(2030, 1, 1))) == [], "nothing answers after 2030"
