"""Retrieval quality on the RealTimeQA dev set: Hits@1/4/10 and MRR@10 through the real indexer and retriever.

The dev articles are indexed into a temporary data home with ``index.Indexer`` (each line gets an explicit id:
several lines share a url, and the passage is the unit), then every question goes through
``assistant.retrieval.Retriever.search``. Scoring follows ``../shared/bench/README.md``: whitespace is stripped
from the retrieved chunk and from each gold evidence string, and a chunk is a hit when it contains one.

    .venv/bin/python bench/retrieval_eval.py                   # hybrid, dense-only and bm25-only on one index
    .venv/bin/python bench/retrieval_eval.py --modes hybrid --home /tmp/dev-home   # keep the index for reruns

Settings come from the environment as usual (``NEWSDESK_CHUNK_SIZE``, ``NEWSDESK_RRF_K`` ...), so a tuning run is
``NEWSDESK_RRF_K=30 .venv/bin/python bench/retrieval_eval.py``. Skips (exit 0) when the bench data is absent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.retrieval import Retriever  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from index import Indexer  # noqa: E402
from index.pipeline.embedding import make_embedder  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "bench"
DEV = "realtimeqa-dev"


def squash(text: str) -> str:
    return "".join(text.split())


def first_hit(texts: list[str], evidence: list[str]) -> int | None:
    """1-based rank of the first retrieved chunk containing a gold evidence string."""
    gold = [squash(e) for e in evidence if e.strip()]
    for rank, text in enumerate(texts, 1):
        flat = squash(text)
        if any(g in flat for g in gold):
            return rank
    return None


def score(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    out = {f"hits@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 4, 10)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    return out


def write_corpus(articles: Path, target: Path) -> int:
    """The dev articles as JSONL with an explicit id per line (the url is shared by many passages)."""
    count = 0
    with articles.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        for line, raw in enumerate(src):
            if not raw.strip():
                continue
            record = json.loads(raw)
            record["id"] = f"realtimeqa-dev:{line}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def evaluate(retriever: Retriever, questions: list[dict[str, Any]], k: int) -> tuple[dict[str, float], list[float]]:
    ranks: list[int | None] = []
    latencies: list[float] = []
    for q in questions:
        started = time.perf_counter()
        passages = retriever.search(q["question"], k=k)
        latencies.append((time.perf_counter() - started) * 1000)
        ranks.append(first_hit([p.text for p in passages], q.get("evidence") or []))
    return score(ranks), latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder holding realtimeqa-dev/")
    parser.add_argument("--home", type=Path, help="data home to index into and keep (default: a temp dir)")
    parser.add_argument("--modes", default="hybrid,dense,bm25", help="retrieval modes to score, comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N questions")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "retrieval_eval.json")
    args = parser.parse_args(argv)

    dev = args.bench / DEV
    if not (dev / "articles.jsonl").is_file() or not (dev / "questions.jsonl").is_file():
        print(f"skipped: no dev set at {dev} (bench data lives in ../shared/bench beside the repo)")
        return 0
    questions = [json.loads(line) for line in (dev / "questions.jsonl").open(encoding="utf-8") if line.strip()]
    if args.limit:
        questions = questions[:args.limit]

    with tempfile.TemporaryDirectory(prefix="newsdesk-dev-") as tmp:
        home = args.home or Path(tmp) / "home"
        settings = load_settings(home=home)
        corpus = home / "realtimeqa-dev.jsonl"
        home.mkdir(parents=True, exist_ok=True)
        n_articles = write_corpus(dev / "articles.jsonl", corpus)
        embedder = make_embedder(settings)
        started = time.perf_counter()
        report = Indexer(settings, embedder=embedder).sync([corpus])
        index_s = time.perf_counter() - started
        print(f"indexed {n_articles} dev articles into {home}: {report.summary()}, "
              f"{report.chunks_written} chunks written, {report.chunks_embedded} embedded, {index_s:.1f} s")

        rows = []
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            mode_settings = settings.model_copy(update={"retrieval_mode": mode})
            retriever = Retriever(mode_settings, Indexer(mode_settings, embedder=embedder).store, embedder)
            retriever.search("warm up", k=10)
            figures, latencies = evaluate(retriever, questions, k=10)
            p50 = statistics.median(latencies)
            rows.append({"mode": mode, **figures, "search_p50_ms": p50})

    print(f"\n{len(questions)} questions, chunk_size={settings.chunk_size} overlap={settings.chunk_overlap}")
    print(f"{'mode':<8} {'Hits@1':>7} {'Hits@4':>7} {'Hits@10':>8} {'MRR@10':>7} {'p50 ms':>7}")
    for row in rows:
        print(f"{row['mode']:<8} {row['hits@1']:>7.3f} {row['hits@4']:>7.3f} {row['hits@10']:>8.3f} "
              f"{row['mrr@10']:>7.3f} {row['search_p50_ms']:>7.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {"questions": len(questions), "settings": settings.model_dump(mode="json", exclude={"openai_api_key"}),
               "results": rows}
    args.json.write_text(json.dumps(payload, indent=2, default=str))
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
