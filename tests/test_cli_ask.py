"""``newsdesk search``, ``ask`` and ``chat`` as a user runs them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import Reply, ScriptedOpenAI

from assistant.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(settings, news_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A data home with the sample articles indexed through the CLI."""
    assert main(["--home", str(settings.home), "index", str(news_dir), "--quiet"]) == 0
    capsys.readouterr()
    return str(settings.home)


def test_search_prints_passages_best_first(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", home, "search", "Oreshnik missile", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. ") and "\n2. " in out and "\n3. " in out and "\n4. " not in out
    assert "Oreshnik" in out.split("\n2. ")[0], "the best passage comes first"
    assert "Putin’s Bold ‘Duel’ Threat" in out and "2024-12-20" in out

    assert main(["--home", home, "search", "Oreshnik missile", "--k", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and {"text", "title", "article_id", "start", "end", "score"} <= set(rows[0])


def test_ask_prints_the_answer_then_its_sources(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", home, "ask", "What did Putin propose?"]) == 0
    out = capsys.readouterr().out
    answer, sources = out.split("\nSources:\n")
    assert "duel" in answer and "[1]" in answer
    first = sources.splitlines()[0]
    assert first == "[1] Putin’s Bold ‘Duel’ Threat Sparks Chaos: Russia’s Deadly Missile Storm Devastates Kyiv — " \
                    "2024-12-20"
    assert "“" in sources and "duel" in sources.splitlines()[1], "the quoted passage follows its heading"


def test_the_readers_examples(home: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline reader's examples as a user asks them (the page and the API: tests/test_web.py)."""
    monkeypatch.setenv("NEWSDESK_TODAY", "2026-12-02")
    assert main(["--home", home, "ask", "Which cities were hit besides Kyiv?"]) == 0
    assert capsys.readouterr().out.startswith("Kharkiv — The northeastern Kharkiv region was also targeted")
    assert main(["--home", home, "ask", "How many people died in the attacks?"]) == 0
    answer, sources = capsys.readouterr().out.split("\nSources:\n")
    assert "at least five people killed" in answer and "the death of at least one person" in answer, answer
    assert "[1] Russia Pounds Kiev" in sources and "[2] Putin’s Bold ‘Duel’ Threat" in sources, sources
    assert main(["--home", home, "ask", "What did Putin propose?"]) == 0
    assert capsys.readouterr().out.startswith("During the conference, Putin sarcastically proposed a “duel”")
    assert main(["--home", home, "ask", "What did the Pope say about the Kyiv strikes?"]) == 0
    assert capsys.readouterr().out.startswith("The articles don't say.")


def test_ask_json(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", home, "ask", "--json", "How many ballistic missiles did Russia launch at Kyiv on "
                 "20 December 2024?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "refused", "citations", "mode", "timings_ms"} <= set(data)
    assert data["mode"] == "offline" and data["refused"] is False
    assert "five ballistic missiles" in data["answer"]
    assert data["citations"][0]["n"] == 1 and data["citations"][0]["published"] == "2024-12-20"
    assert data["timings_ms"]["total"] > 0


def test_ask_refuses_plainly(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", home, "ask", "--json", "Who won the 2022 World Cup?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["refused"] is True and data["citations"] == [] and "don't say" in data["answer"]


def test_ask_filters(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    question = "How many missiles were fired at Kyiv?"
    assert main(["--home", home, "ask", "--json", "--since", "2024-12-01", question]) == 0
    december = json.loads(capsys.readouterr().out)
    assert december["citations"] and all(c["published"] == "2024-12-20" for c in december["citations"])
    assert main(["--home", home, "ask", "--json", "--until", "2024-01-31", question]) == 0
    january = json.loads(capsys.readouterr().out)
    assert january["citations"] and all(c["published"] == "2024-01-02" for c in january["citations"])
    assert main(["--home", home, "ask", "--json", "--source", "Nobody's Gazette", question]) == 0
    assert json.loads(capsys.readouterr().out)["refused"] is True


def test_bad_date_is_a_clear_usage_error(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", home, "ask", "--since", "last tuesday", "Anything?"]) == 2
    err = capsys.readouterr().err
    assert "--since needs a date like 2024-12-01" in err and "Traceback" not in err


def test_empty_home_says_what_to_do(settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(settings.home), "ask", "What did Putin propose?"]) == 1
    assert "newsdesk index" in capsys.readouterr().err


def test_chat_follows_up(home: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?\n\n" \
            "and how many were intercepted?\nexit\nWhat did Putin propose?\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["--home", home, "chat"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("Sources:") == 2, "two answers, then 'exit' ends the conversation"
    assert "five ballistic missiles" in captured.out
    assert "all five missiles were intercepted" in captured.out
    assert "duel" not in captured.out.split("intercepted")[-1]
    assert "(searched for: How many were intercepted (" in captured.err


def test_ask_streams_as_the_model_writes(home: str, news_dir: Path) -> None:
    """A real ``newsdesk`` process against the scripted LLM: the first words show before the model finishes."""
    text = "Russia launched five ballistic missiles at Kyiv [1], and all of them were intercepted [1]."
    with ScriptedOpenAI(default=Reply(text, stall_after=4, stall=2.0)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NEWSDESK_"))}
        env.update({"NEWSDESK_HOME": home, "OPENAI_BASE_URL": server.base_url, "NEWSDESK_LLM_MODEL": "m",
                    "NEWSDESK_LLM_TIMEOUT": "10", "PYTHONUNBUFFERED": "1"})
        process = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ask",
                                    "How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?"],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = b""
            while len(first) < 6:  # unbuffered reads: communicate() below gets the rest
                chunk = os.read(process.stdout.fileno(), 6 - len(first))
                if not chunk:
                    break
                first += chunk
            first_at = time.perf_counter()
            rest, err = process.communicate(timeout=120)
            done_at = time.perf_counter()
        finally:
            if process.poll() is None:
                process.kill()
    out = (first + rest).decode()
    assert process.returncode == 0, err.decode()
    assert first.decode() == "Russia"
    assert done_at - first_at >= 1.5, "the beginning was printed while the model was still writing"
    assert out.startswith(text) and "\nSources:\n[1] Putin’s Bold ‘Duel’ Threat" in out
    assert len(server.requests) == 1


def test_a_real_process_prints_no_noise_and_stops_quietly_when_the_reader_leaves(home: str) -> None:
    """stderr stays clean on a plain answer (a library once logged DEBUG lines there), and `newsdesk ... | head`
    ends without a traceback when head stops reading."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NEWSDESK_"))}
    env["NEWSDESK_HOME"] = home
    cli = [sys.executable, "-m", "assistant.cli"]
    done = subprocess.run([*cli, "ask", "What did Putin propose?"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "duel" in done.stdout
    assert done.stderr == ""

    process = subprocess.Popen([*cli, "search", "--json", "--k", "8", "missiles"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    process.stderr.close()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert process.returncode == 141
