"""`newsdesk eval` on a question file about the sample articles, through the real CLI and store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.evaluate import contains_answer, evidence_rank
from index import Indexer

QUESTIONS = [
    {"question": "How many missiles were fired at Kiev in the barrage on Tuesday?", "answer": "100",
     "evidence": ["The barrage — which the Ukrainian Air Force said involved about 100 missiles"]},
    {"question": "What did Putin dare Ukraine's Western allies to?", "answer": "a missile duel",
     "evidence": ["the Russian leader mockingly dared Ukraine’s Western allies to a missile “duel,”"]},
    {"question": "Which team won the 1966 football World Cup final at Wembley?", "answer": "England",
     "evidence": ["England beat West Germany 4-2 after extra time at Wembley."]},
]


def test_evidence_rule_ignores_whitespace_and_needs_the_whole_string() -> None:
    passages = ["nothing here", "The  barrage —\nwhich the Ukrainian Air Force said involved about 100 missiles, x"]
    assert evidence_rank(passages, ("The barrage — which the Ukrainian Air Force said",)) == 2
    assert evidence_rank(passages, ("about 100 missiles including ten hypersonic",)) is None
    assert contains_answer("It fired about 100 missiles [1].", "100")
    assert not contains_answer("It fired about 1000 missiles [1].", "100")


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\nnot json\n")
    return path


def test_eval_reports_retrieval_hits_and_latency(indexer: Indexer, news_dir: Path, qa_file: Path, settings,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    indexer.sync([news_dir])
    code = main(["--home", str(settings.home), "eval", str(qa_file), "--no-answers", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 3 and report["with_evidence"] == 3
    # Two of three questions have their evidence in the sample articles; the World Cup one cannot be found.
    assert report["hits_at"]["10"] == pytest.approx(2 / 3)
    assert 0 < report["mrr_at_10"] <= 2 / 3
    assert report["search_ms"]["p50"] > 0
    assert report["skipped_lines"] == ["line 4: not a JSON object with a 'question'"]


def test_eval_refuses_a_missing_file(settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(settings.home), "eval", "/nonexistent/qa.jsonl"]) == 2
    assert "no such question file" in capsys.readouterr().err


def test_eval_scores_answers_and_pins_today_to_asked_on(indexer: Indexer, news_dir: Path, tmp_path: Path, settings,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Correct / wrong / refused as in the bench README; "today" is the day each question was asked, so an article
    published later is not there to answer it."""
    indexer.sync([news_dir])
    duel = "What did Putin dare Ukraine's Western allies to?"
    rows = [
        {"question": "How many missiles did Russia fire at Kiev this week?", "answer": "100", "asked_on": "2024-01-03",
         "evidence": ["The barrage — which the Ukrainian Air Force said involved about 100 missiles"]},
        {"question": duel, "answer": "duel", "asked_on": "2023-06-01"},  # before any article was published
        {"question": duel, "answer": "duel"},  # asked today
        {"question": "Which team won the 1966 football World Cup final at Wembley?", "answer": "England"},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    assert main(["--home", str(settings.home), "eval", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    outcomes = report["outcomes"]
    assert outcomes["questions"] == 4
    assert outcomes["correct"] == pytest.approx(2 / 4), outcomes
    assert outcomes["refused"] == pytest.approx(2 / 4), outcomes  # asked before the articles; the World Cup
    assert outcomes["wrong"] == 0 and outcomes["score"] == pytest.approx(0.5)
    assert report["time_outcomes"]["questions"] == 2  # "this week", and the year 1966
    assert report["evidence_retrieved"] == 1 and report["refused_with_evidence"] == 0
    # by what each question asks for: a number (answered), an open question (one answered, one refused: asked
    # before the article), a team by name (refused)
    kinds = report["by_kind"]
    assert kinds["number"]["correct"] == 1.0 and kinds["organisation"]["refused"] == 1.0, kinds
    assert kinds["open"]["questions"] == 2 and kinds["open"]["correct"] == 0.5, kinds
    # citation precision over the one question with gold evidence: its citations that hold the evidence
    assert report["citations"] >= 1 and report["citations_with_evidence"] >= 1, report


def test_eval_names_a_bad_asked_on(tmp_path: Path) -> None:
    from assistant.evaluate import read_questions

    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "q?", "asked_on": "last Tuesday"}\n{"question": "r?", "asked_on": "2024-01-03"}\n')
    questions, skipped = read_questions(path)
    assert [str(q.asked_on) for q in questions] == ["2024-01-03"]
    assert skipped == ["line 1: 'asked_on' is not a date (YYYY-MM-DD): 'last Tuesday'"]
