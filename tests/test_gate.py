"""The LLM-mode gate: off-topic questions are refused before the model is called; questions the sample articles
answer, or nearly answer, reach the model, which decides (including "the articles don't say")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openai_server import Recorded, Reply, ScriptedOpenAI
from pydantic import SecretStr

from assistant.assistant import Assistant
from assistant.types import Answer
from index import Indexer

ROOT = Path(__file__).resolve().parent.parent
OFF_TOPIC = ROOT / "tests" / "fixtures" / "offtopic_questions.txt"

ANSWERABLE = [
    "How many missiles hit Kyiv on January 2?",
    "What did Putin propose?",
    "Which cities were hit besides Kyiv?",
    "How many people died in the attacks?",
    "Who claimed responsibility for killing Igor Kirillov?",
    "What share of the Russian barrage did Ukraine intercept?",
    "Where did Russia first use the Oreshnik missile?",
    "What happened to heating in Kyiv after the strike?",
]
NEAR_MISSES = [  # about the articles' story, not answered by them: the model, not the gate, must refuse these
    "What did the Pope say about the Kyiv strikes?",
    "How did Biden respond to the Kyiv strikes?",
    "What did NATO say about Putin's duel proposal?",
]


def off_topic_questions() -> list[str]:
    lines = OFF_TOPIC.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def server():
    with ScriptedOpenAI() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def assistant(server: ScriptedOpenAI, tmp_path_factory: pytest.TempPathFactory, minilm) -> Assistant:
    from assistant.settings import load_settings

    settings = load_settings(home=tmp_path_factory.mktemp("gate"), openai_base_url=server.base_url,
                             llm_model="test-model", openai_api_key=SecretStr("test-key"), llm_timeout=5.0,
                             llm_retries=0)
    indexer = Indexer(settings, embedder=minilm)
    assert indexer.sync([ROOT / "data" / "sample"]).added == 2
    assistant = Assistant(settings, store=indexer.store, embedder=minilm)
    assistant.today = lambda: date(2026, 12, 2)
    return assistant


def asked(server: ScriptedOpenAI, question: str) -> list[Recorded]:
    return [r for r in server.requests if question in r.messages[-1]["content"]]


def ask(assistant: Assistant, server: ScriptedOpenAI, question: str, reply: str) -> tuple[Answer, bool]:
    server.default = Reply(reply)
    answer = assistant.ask(question)
    return answer, bool(asked(server, question))


def test_off_topic_questions_are_refused_before_the_call(assistant: Assistant, server: ScriptedOpenAI) -> None:
    questions = off_topic_questions()
    assert len(questions) >= 200
    called = []
    for question in questions:
        answer, reached = ask(assistant, server, question, "Bread needs flour [1].")
        if reached:
            called.append(question)
        else:
            assert answer.refused and not answer.citations, question
    assert len(called) <= 0.05 * len(questions), f"{len(called)} off-topic questions reached the model: {called}"


@pytest.mark.parametrize("question", ANSWERABLE + NEAR_MISSES)
def test_questions_about_the_articles_reach_the_model(assistant: Assistant, server: ScriptedOpenAI,
                                                      question: str) -> None:
    answer, reached = ask(assistant, server, question, "The articles don't say.")
    assert reached, f"refused before the call: {answer.text}"
    # the model's own refusal is honoured and names the closest articles
    assert answer.refused and "The closest ones cover" in answer.text, answer.text
