"""Refusal calibration: false-refusal and false-answer rates of the offline answerer, plus its latency.

Three question sets, each through the real retriever and ``assistant.answer.extract``:

- **sample**: questions written about the two bundled sample articles: answerable ones (with the article that
  answers) and traps that are related but unanswered ("What did Zelensky say about Belgorod?") or off-topic.
- **dev** (``../shared/bench/realtimeqa-dev``, every question answerable by its evidence): each question is judged
  twice on one retrieval: with all passages (should answer: a refusal is a *false refusal*) and with the gold
  evidence passages taken out of the results (the same articles, minus the answer: answering is a *false answer*,
  although another passage occasionally does answer, so that rate is an upper bound).
- **off-topic**: dev questions asked of the sample articles (nothing there answers them).

    .venv/bin/python bench/refusal_eval.py                # 300 dev questions (spread over the file)
    .venv/bin/python bench/refusal_eval.py --limit 0      # all 1,027
    .venv/bin/python bench/refusal_eval.py --home /tmp/refusal-home   # keep the dev index between runs

The sample part always runs; the dev parts skip cleanly when the bench data is absent.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from retrieval_eval import write_corpus  # noqa: E402  (the dev articles with an id per line)

from assistant.answer import Evidence, Thresholds, answer_type, decide, extract, scoring  # noqa: E402
from assistant.assistant import Assistant, Stopwatch, answers  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.types import Filters, Passage  # noqa: E402
from index import Indexer  # noqa: E402
from index.pipeline.embedding import make_embedder  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "bench"
FEATURES: list[dict[str, Any]] = []
"""Verdict features of every dev judgement, written beside the report for threshold tuning."""
SAMPLE = ROOT / "data" / "sample"
KYIV, PUTIN = "kyiv-100-missiles", "putin-duel"

SAMPLE_ANSWERABLE = [
    ("How many missiles hit Kyiv on 2 January 2024?", KYIV),
    ("What did Putin propose?", PUTIN),
    ("How many people were killed in the 2 January 2024 strikes on Kyiv?", KYIV),
    ("What share of the Russian barrage did Ukraine intercept?", KYIV),
    ("How many hypersonic missiles were destroyed?", KYIV),
    ("What did Zelensky call Putin?", PUTIN),
    ("Who claimed responsibility for killing Igor Kirillov?", PUTIN),
    ("How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?", PUTIN),
    ("Where were the ballistic missiles launched from?", PUTIN),
    ("Where was Zelensky when the missiles hit Kyiv in December 2024?", PUTIN),
    ("What did Stefanishyna say about the cyberattack?", PUTIN),
    ("What happened to heating in Kyiv after the strike?", PUTIN),
    ("Why did Russia say it attacked Kyiv in December?", PUTIN),
    ("Where did Russia first use the Oreshnik missile?", PUTIN),
    ("How many survivors gathered at the school shelter?", KYIV),
    ("How did Ukraine retaliate against Belgorod?", KYIV),
    ("Who is Inna Luhina?", KYIV),
    ("What is the Oreshnik missile?", PUTIN),
]

SAMPLE_UNANSWERABLE = [
    "What did Zelensky say about Belgorod?",
    "How many people died in the Oreshnik attack on Dnipro?",
    "What did Klitschko say about the Patriot batteries?",
    "How many missiles hit Kharkiv on 20 December 2024?",
    "How many Patriot batteries did the US send to Ukraine in January 2024?",
    "What did NATO say about Putin's duel proposal?",
    "When will European troops be deployed to Ukraine?",
    "What weapon was used to kill Igor Kirillov?",
    "How did Biden respond to the Kyiv strikes?",
    "What is the population of Kyiv?",
    "How many missiles did Ukraine fire at Moscow in December 2024?",
    "What did the British Prime Minister tell Zelensky?",
    "Who won the 2022 World Cup?",
    "What is the capital of Australia?",
    "How do I bake sourdough bread?",
    "Who won the 2024 US presidential election?",
]


class MemoEmbedder:
    """The real model, remembering vectors (on disk too, with ``path``): the two judgements of a dev question and
    repeated tuning runs embed each sentence once."""

    def __init__(self, inner: Any, path: Path | None = None) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.path = path
        self.memo: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with path.open("rb") as handle:
                self.memo = pickle.load(handle)

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.inner.embed(todo)))
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def save(self) -> None:
        if self.path is not None:
            with self.path.open("wb") as handle:
                pickle.dump(self.memo, handle)


def throughput(embedder: Any) -> float:
    """Short sentences per second the embedding model manages right now (the machine may be busy)."""
    texts = [f"Russia launched {n} ballistic missiles at Kyiv early on Friday, officials said." for n in range(64)]
    embedder.embed(texts[:4])
    started = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def squash(text: str) -> str:
    return "".join(text.split())


def is_gold(passage: Passage, evidence: list[str]) -> bool:
    flat = squash(passage.text)
    return any(g and (g in flat or flat in g) for g in (squash(e) for e in evidence))


def spread(items: list[Any], limit: int) -> list[Any]:
    """``limit`` items evenly spread over the list (the dev file is in date order)."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def judge(question: str, passages: list[Passage], embedder: Any, latencies: list[float]) -> Any:
    started = time.perf_counter()
    result = extract(question, passages, embedder)
    latencies.append((time.perf_counter() - started) * 1000)
    return result


def sample_part(assistant: Assistant, latencies: list[float], verbose: bool) -> dict:
    """The same steps as ``Assistant.ask`` (filters inferred from the question, as users get them)."""
    rows: dict[str, list[str]] = {"false_refusals": [], "wrong_article": [], "false_answers": []}
    today = assistant.today()

    def run(question: str, label: str) -> Any:
        started = time.perf_counter()  # (retrieval included: the question's period may take two searches)
        result = assistant._evidence(question, Filters(), today, Stopwatch(), answers).found
        latencies.append((time.perf_counter() - started) * 1000)
        record(question, label, result, result.question)
        return result

    for question, origin in SAMPLE_ANSWERABLE:
        result = run(question, "sample-answerable")
        if not result.verdict.answerable:
            rows["false_refusals"].append(f"{question} ({result.verdict.reason})")
        elif not any(origin in c.article_id for c in result.citations):
            rows["wrong_article"].append(f"{question} -> {result.text[:120]}")
        elif verbose:
            print(f"  ok  {question} -> {result.text[:150]}")
    for question in SAMPLE_UNANSWERABLE:
        result = run(question, "sample-unanswerable")
        if result.verdict.answerable:
            rows["false_answers"].append(f"{question} -> {result.text[:120]}")
    return {
        "answerable": len(SAMPLE_ANSWERABLE), "unanswerable": len(SAMPLE_UNANSWERABLE),
        "false_refusal_rate": len(rows["false_refusals"]) / len(SAMPLE_ANSWERABLE),
        "wrong_article_rate": len(rows["wrong_article"]) / len(SAMPLE_ANSWERABLE),
        "false_answer_rate": len(rows["false_answers"]) / len(SAMPLE_UNANSWERABLE),
        **rows,
    }


def record(question: str, label: str, result: Any, asked: str | None = None) -> None:
    FEATURES.append({"question": question, "label": label, "kind": answer_type(asked or question)[0],
                     "answerable": result.verdict.answerable,
                     "evidence": [asdict(e) for e in result.verdict.evidence]})


def dev_part(retriever: Retriever, embedder: Any, questions: list[dict], k: int, latencies: list[float]) -> dict:
    false_refusals, false_answers, cites_gold, retrieved_gold, n_answered = 0, 0, 0, 0, 0
    examples: dict[str, list[str]] = {"false_refusals": [], "false_answers": []}
    for q in questions:
        found = retriever.search(q["question"], k + 4)
        full = found[:k]
        without = [p for p in found if not is_gold(p, q["evidence"])][:k]
        has_gold = any(is_gold(p, q["evidence"]) for p in full)
        retrieved_gold += has_gold
        answered = judge(q["question"], full, embedder, latencies)
        record(q["question"], "dev-gold" if has_gold else "dev-gold-not-retrieved", answered)
        if answered.verdict.answerable:
            n_answered += 1
            cited = {c.article_id for c in answered.citations}
            cites_gold += any(is_gold(p, q["evidence"]) for p in full if p.article_id in cited)
        elif has_gold:
            false_refusals += 1
            if len(examples["false_refusals"]) < 12:
                examples["false_refusals"].append(f"{q['question']} ({answered.verdict.reason})")
        unanswered = judge(q["question"], without, embedder, latencies)
        record(q["question"], "dev-removed", unanswered)
        if unanswered.verdict.answerable:
            false_answers += 1
            if len(examples["false_answers"]) < 12:
                examples["false_answers"].append(f"{q['question']} -> {unanswered.text[:100]}")
    n = len(questions) or 1
    return {
        "questions": len(questions),
        "gold_retrieved": retrieved_gold / n,
        "false_refusal_rate_when_gold_retrieved": false_refusals / max(1, retrieved_gold),
        "false_answer_rate_gold_removed": false_answers / n,
        "answered_citing_gold": cites_gold / max(1, n_answered),
        **examples,
    }


def tune(path: Path) -> int:
    """Refusal rates of other thresholds on the recorded evidence (no retrieval, no model: seconds)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    labels = ("sample-answerable", "sample-unanswerable", "dev-gold", "dev-removed", "off-topic")
    groups = {label: [r for r in rows if r["label"] == label] for label in labels}

    def rates(limits: Thresholds) -> dict[str, float]:
        out = {}
        for label, group in groups.items():
            answered = sum(decide([Evidence(**e) for e in r["evidence"]], r["kind"], limits)[0].answerable
                           for r in group)
            wrong = answered if label in ("sample-unanswerable", "dev-removed", "off-topic") else len(group) - answered
            out[label] = wrong / max(1, len(group))
        return out

    def cost(r: dict[str, float]) -> float:
        return (2 * r["sample-answerable"] + 2 * r["sample-unanswerable"] + r["dev-gold"] + r["dev-removed"]
                + r["off-topic"])

    grid = []
    for cov in [x / 20 for x in range(4, 17)]:
        for sup in [x / 100 for x in range(30, 72, 3)]:
            for sim in (0.25, 0.5, 0.6, 0.65, 0.7):
                limits = Thresholds(cov, sup, sim)
                grid.append((cost(r := rates(limits)), limits, r))
    grid.sort(key=lambda g: g[0])
    print("wrong-decision rates: sample-ans = false refusals, sample-unans = false answers, dev-gold = false "
          "refusals, dev-removed / off-topic = false answers")
    print(f"{'cov':>5} {'sup':>5} {'sim':>5} " + " ".join(f"{label:>19}" for label in labels) + f" {'cost':>6}")
    for value, limits, r in [(cost(rates(Thresholds())), Thresholds(), rates(Thresholds()))] + grid[:15]:
        print(f"{limits.salient_coverage:>5.2f} {limits.support:>5.2f} {limits.similarity:>5.2f} "
              + " ".join(f"{r[label]:>19.3f}" for label in labels) + f" {value:>6.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder holding realtimeqa-dev/")
    parser.add_argument("--home", type=Path, help="data home for the dev index, kept between runs")
    parser.add_argument("--limit", type=int, default=300, help="dev questions (0: all)")
    parser.add_argument("--k", type=int, default=0, help="passages per question (default: Settings.top_k)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "refusal_eval.json")
    parser.add_argument("--tune", type=Path, help="only compare thresholds on a recorded .features.jsonl")
    parser.add_argument("--candidates", type=int, help="override answer.scoring.MAX_CANDIDATES (sentences embedded)")
    parser.add_argument("--pieces", type=int, help="override answer.scoring.MAX_PIECES (texts embedded)")
    args = parser.parse_args(argv)
    if args.candidates:
        scoring.MAX_CANDIDATES = args.candidates
    if args.pieces:
        scoring.MAX_PIECES = args.pieces
    if args.tune:
        return tune(args.tune)

    report: dict[str, Any] = {}
    sample_ms: list[float] = []
    dev_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="newsdesk-refusal-") as tmp:
        settings = load_settings(home=Path(tmp) / "sample")
        k = args.k or settings.top_k
        raw = make_embedder(settings)
        indexer = Indexer(settings, embedder=raw)
        indexer.sync([SAMPLE])
        assistant = Assistant(settings, store=indexer.store, embedder=raw)
        assistant.today = lambda: date(2024, 12, 31)  # the sample articles' "now"
        assistant.ask("warm up")
        FEATURES.clear()
        report["sample"] = sample_part(assistant, sample_ms, args.verbose)
        sample_retriever = assistant.retriever

        dev = args.bench / "realtimeqa-dev"
        if not (dev / "articles.jsonl").is_file():
            print(f"dev set skipped: no {dev} (bench data lives in ../shared/bench beside the repo)")
        else:
            questions = [json.loads(x) for x in (dev / "questions.jsonl").open(encoding="utf-8") if x.strip()]
            questions = spread(questions, args.limit)
            home = args.home or Path(tmp) / "dev"
            home.mkdir(parents=True, exist_ok=True)
            dev_settings = load_settings(home=home)
            embedder = MemoEmbedder(raw, home / "sentence-vectors.pkl" if args.home else None)
            write_corpus(dev / "articles.jsonl", home / "realtimeqa-dev.jsonl")
            indexer = Indexer(dev_settings, embedder=embedder)
            indexer.sync([home / "realtimeqa-dev.jsonl"])
            dev_retriever = Retriever(dev_settings, indexer.store, embedder)
            report["dev"] = dev_part(dev_retriever, embedder, questions, k, dev_ms)
            offtopic = spread(questions, 100)
            wrong = []
            for q in offtopic:
                result = judge(q["question"], sample_retriever.search(q["question"], k), embedder, dev_ms)
                record(q["question"], "off-topic", result)
                if result.verdict.answerable:
                    wrong.append(q["question"])
            embedder.save()
            report["off_topic"] = {"questions": len(offtopic), "false_answer_rate": len(wrong) / len(offtopic),
                                   "false_answers": wrong[:12]}

    report["limits"] = {"max_candidates": scoring.MAX_CANDIDATES, "max_pieces": scoring.MAX_PIECES}
    rate = throughput(raw)
    report["extract_ms"] = {
        "sample_p50": statistics.median(sample_ms), "sample_p95": percentile(sample_ms, 0.95),
        "minilm_sentences_per_s_now": round(rate, 1),
        "sample_p50_at_100_per_s": statistics.median(sample_ms) * rate / 100,
        "note": "extractive answer after retrieval, real model, no caching. The machine is shared, so the model's "
                "throughput is measured at the same time and the p50 rescaled to the nominal 100 sentences/s",
    }
    print(json.dumps(report, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    if FEATURES:
        args.json.with_suffix(".features.jsonl").write_text("\n".join(json.dumps(f) for f in FEATURES) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
