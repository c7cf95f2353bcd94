"""Calibration of the LLM-mode gate (``assistant.answer.gate``): what it refuses before the model is called.

- **dev** (``../shared/bench/realtimeqa-dev``, skipped when absent): the questions whose gold passage is retrieved
  (top 8) should reach the model; target: at most 5% refused before the call.
- **off-topic** (``tests/fixtures/offtopic_questions.txt``): asked of the sample articles and, when present, of the
  dev collection; target: at least 95% refused before the call.

No model is called: the gate decides from retrieval and the extractive scores alone, so this runs offline.

    .venv/bin/python bench/gate_eval.py --home /tmp/devhome      # keep the dev index between runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.gate import MIN_SIMILARITY, on_topic  # noqa: E402
from assistant.assistant import Assistant, Stopwatch  # noqa: E402
from assistant.evaluate import evidence_rank, read_questions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.types import Filters  # noqa: E402
from index import Indexer  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "bench"
OFF_TOPIC = ROOT / "tests" / "fixtures" / "offtopic_questions.txt"
SAMPLE = ROOT / "data" / "sample"
EVIDENCE_DEPTH = 8


def off_topic_questions() -> list[str]:
    lines = OFF_TOPIC.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def refused_share(assistant: Assistant, questions: Iterable[tuple[str, date]]) -> tuple[float, int]:
    """Share of ``questions`` the gate refuses before the call, and how many were asked."""
    refused = asked = 0
    for question, today in questions:
        found = assistant._evidence(question, Filters(), today, Stopwatch(), on_topic).found
        refused += int(not on_topic(found))
        asked += 1
    return (refused / asked if asked else 0.0), asked


def indexed(home: Path, paths: list[str]) -> Assistant:
    settings = load_settings(home=home)
    Indexer(settings).sync(paths)
    return Assistant(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder holding realtimeqa-dev/")
    parser.add_argument("--home", type=Path, help="NEWSDESK_HOME for the dev index (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    off = off_topic_questions()
    report: dict[str, object] = {"min_similarity": MIN_SIMILARITY}
    with tempfile.TemporaryDirectory() as tmp:
        sample = indexed(Path(tmp) / "sample", [str(SAMPLE)])
        report["off_topic_refused_sample"], report["off_topic_questions"] = refused_share(
            sample, ((q, date(2026, 12, 2)) for q in off))
        dev = args.bench / "realtimeqa-dev"
        if (dev / "questions.jsonl").is_file():
            assistant = indexed(args.home or Path(tmp) / "dev", [str(dev / "articles.jsonl")])
            questions, _ = read_questions(dev / "questions.jsonl")
            retrieved = [q for q in questions if q.evidence and (rank := evidence_rank(
                (p.text for p in assistant.search(q.question, k=EVIDENCE_DEPTH)), q.evidence)) and rank <= 8]
            report["dev_refused_with_evidence"], report["dev_with_evidence"] = refused_share(
                assistant, ((q.question, q.asked_on or date.today()) for q in retrieved))
            latest = max((q.asked_on for q in questions if q.asked_on), default=date.today())
            report["off_topic_refused_dev"], _ = refused_share(assistant, ((q, latest) for q in off))
        else:
            print(f"dev set skipped: no {dev} (bench data lives in ../shared/bench beside the repo)", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
