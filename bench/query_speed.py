"""Search latency at a large corpus: hybrid search p50/p95, each half alone, filters, and the offline answer.

Embedding 50k real passages takes about an hour on 2 cores, so this bench embeds a few hundred real passages
(the RealTimeQA dev passages when ``../shared/bench`` is there, else the sample articles) and stores N passages
whose vectors are those plus small noise, each keeping its real text (with a few words from other passages mixed
in, so the BM25 postings are not mere copies). The output says so. Questions are the dev questions (else ones
written about the samples); every timing includes embedding the question, as a user's search does.

    .venv/bin/python bench/query_speed.py                    # 50,000 passages, 200 queries (~5 min here)
    .venv/bin/python bench/query_speed.py --chunks 100000 --home /tmp/qs   # keep the store for reruns

Prints one table and writes ``bench/results/query_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.retrieval import KeywordIndex, Retriever  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.types import Filters  # noqa: E402
from index.article import Article  # noqa: E402
from index.pipeline.chunking import Chunker  # noqa: E402
from index.pipeline.embedding import make_embedder  # noqa: E402
from index.store import PAGE, ArticleRecord, Store, chunk_id, passage_meta  # noqa: E402

DEV = ROOT.parent / "shared" / "bench" / "realtimeqa-dev"
SAMPLE_QUESTIONS = [
    "How many missiles hit Kyiv?", "What did Zelensky call Putin?", "Who intercepted the hypersonic missiles?",
    "What did Putin propose at his year-end press conference?", "How many people were injured in Kyiv?",
    "Where were the ballistic missiles launched from?", "What happened in Belgorod?", "Oreshnik missile duel",
]
SOURCES = [f"Source {i:02d}" for i in range(20)]
PER_ARTICLE = 5


def base_passages(settings: Any, limit: int) -> tuple[list[str], list[str], str]:
    """Real passages to reuse, real questions, and where they came from."""
    if (DEV / "articles.jsonl").is_file():
        rows = [json.loads(line) for line in (DEV / "articles.jsonl").open(encoding="utf-8") if line.strip()]
        questions = [json.loads(line)["question"] for line in (DEV / "questions.jsonl").open(encoding="utf-8")
                     if line.strip()]
        return [r["text"] for r in rows[:limit]], questions, "RealTimeQA dev passages"
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    texts = []
    for path in sorted((ROOT / "data" / "sample").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        article = Article(article_id=path.name, title=lines[0], text="\n".join(lines[1:]))
        texts.extend(c.text for c in chunker.split(article))
    return texts[:limit], SAMPLE_QUESTIONS, "sample-article passages"


def build_store(settings: Any, embedder: Any, n_chunks: int, n_base: int, seed: int) -> tuple[Store, list[str], str]:
    store = Store(settings)
    texts, questions, origin = base_passages(settings, n_base)
    stored = store.counts()[1]
    if stored >= n_chunks:
        print(f"reusing {stored:,} passages in {settings.home}")
        return store, questions, origin
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    print(f"embedded {len(texts)} real passages ({origin}) in {time.perf_counter() - started:.1f} s")
    store.check_model(embedder.model_id)
    rng = np.random.default_rng(seed)
    words = " ".join(texts).split()
    day0 = date(2020, 1, 1)
    started = time.perf_counter()
    for at in range(0, n_chunks, PAGE):
        count = min(PAGE, n_chunks - at)
        ids, metas, docs, records = [], [], [], []
        picks = rng.integers(0, len(texts), count)
        noise = rng.normal(0, 0.02, (count, vectors.shape[1])).astype(np.float32)
        batch = vectors[picks] + noise
        batch /= np.linalg.norm(batch, axis=1, keepdims=True)
        for j in range(count):
            n = at + j
            article_id, index = f"synthetic:{n // PER_ARTICLE}", n % PER_ARTICLE
            published = (day0 + timedelta(days=int(n // PER_ARTICLE) % 1800)).isoformat()
            source = SOURCES[(n // PER_ARTICLE) % len(SOURCES)]
            extra = " ".join(words[int(k)] for k in rng.integers(0, len(words), 5))
            docs.append(f"{texts[picks[j]]} {extra}")
            ids.append(chunk_id(article_id, "v" * 16, index))
            metas.append(passage_meta(
                article_id=article_id, version="v" * 16, index=index, start=0, end=len(docs[-1]), chunk_hash=f"{n}",
                title=f"Synthetic article {n // PER_ARTICLE}", published=published, source=source, url=None,
                author=None, origin="bench", indexed_at=""))
            if index == 0:
                records.append(ArticleRecord(article_id, "h", "t", "v" * 16, "", "bench", -1, PER_ARTICLE,
                                             f"Synthetic article {n // PER_ARTICLE}", source, published, ""))
        store.put_records(records)
        store.put_chunks(ids, batch, docs, metas)
        print(f"  stored {at + count:,}/{n_chunks:,} passages", flush=True)
    store.mark_synced()
    print(f"stored {n_chunks:,} passages in {time.perf_counter() - started:.1f} s")
    return store, questions, origin


class CachedEmbedder:
    """The real model, computed once per question: isolates retrieval time from model time (and CPU contention)."""

    def __init__(self, inner: Any, texts: set[str]) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        ordered = sorted(texts)
        self.vectors = dict(zip(ordered, inner.embed(ordered)))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] if t in self.vectors else self.inner.embed([t])[0] for t in texts])


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "n": len(ordered)}


def snapshot_memory(store: Store) -> tuple[float, float]:
    """MB the keyword snapshot holds once built, and the Python heap's peak while building it (tracemalloc,
    numpy arrays included; a second build, so the timing above is not slowed by tracing)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        snapshot = KeywordIndex.build(store, store.generation)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del snapshot
    return (held - before) / 2**20, (peak - before) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--base", type=int, default=400, help="real passages embedded and reused")
    parser.add_argument("--home", type=Path, help="data home to build (or reuse) the store in; default a temp dir")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "query_speed.json")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="newsdesk-qs-") as tmp:
        settings = load_settings(home=args.home or Path(tmp) / "home")
        embedder = make_embedder(settings)
        store, questions, origin = build_store(settings, embedder, args.chunks, args.base, args.seed)
        rng = random.Random(args.seed)
        queries = [rng.choice(questions) for _ in range(args.queries)]

        retriever = Retriever(settings, store, embedder)
        started = time.perf_counter()
        keywords = retriever.snapshots.refresh()
        bm25_build_s = time.perf_counter() - started
        snapshot_mb, snapshot_peak_mb = snapshot_memory(store)
        retriever.search("warm up", k=10)

        cached = Retriever(settings, store, CachedEmbedder(embedder, set(queries)))
        cached.snapshots.current = keywords
        depth = settings.retrieval_candidates
        narrow = Filters(since=date(2022, 1, 1), sources=tuple(SOURCES[:5]))
        variants: dict[str, Callable[[str], Any]] = {
            "query embedding": lambda q: embedder.embed([q]),
            "search (hybrid, k=10)": lambda q: retriever.search(q, k=10),
            "search, question vector cached": lambda q: cached.search(q, k=10),
            "search + date & source filter": lambda q: retriever.search(q, k=10, filters=narrow),
            "dense half only (embed + Chroma)": lambda q: retriever.dense.search(q, depth, None, keywords),
            "keyword half only (BM25)": lambda q: keywords.search(q, depth, None),
        }
        answer_note = "skipped"
        extract_ms: list[float] = []
        try:
            from assistant import Assistant

            assistant = Assistant(settings, store=store, embedder=embedder)
            assistant.ask("warm up", offline=True)

            def ask(q: str) -> None:
                answer = assistant.ask(q, offline=True)
                extract_ms.append(answer.timings_ms.get("extract", float("nan")))

            variants["offline answer (ask, end to end)"] = ask
            answer_note = "ok"
        except Exception as exc:  # an answer-side failure must not lose the search figures, which stand alone
            answer_note = f"{type(exc).__name__}: {exc}"

        # Interleaved, every variant per question in a shuffled order: load from other processes and warm caches
        # (a question just embedded by the previous variant) hit all rows alike.
        print(f"timing {len(queries)} questions x {len(variants)} variants ...", flush=True)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for q in queries:
            rng.shuffle(names)
            for name in names:
                samples[name].extend(timed(lambda name=name, q=q: variants[name](q), 1))
        rows = {name: percentiles(values) for name, values in samples.items()}
        if extract_ms:
            rows["answer step after retrieval"] = percentiles(extract_ms)

    n_chunks = args.chunks
    print(f"\nquery latency at {n_chunks:,} passages ({origin} x noise: SYNTHETIC vectors, real texts), "
          f"{os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}")
    print(f"{'':36} {'p50 ms':>8} {'p95 ms':>8}")
    for name, figures in rows.items():
        print(f"{name:36} {figures['p50']:>8.1f} {figures['p95']:>8.1f}")
    print(f"keyword index build from Chroma: {bm25_build_s:.1f} s ({keywords.size:,} passages); holds "
          f"{snapshot_mb:.0f} MB ({snapshot_mb * 2**20 / max(keywords.size, 1) / 1024:.2f} KB a passage), "
          f"heap peak while building {snapshot_peak_mb:.0f} MB")
    if answer_note != "ok":
        print(f"offline answer: {answer_note}")
    target = rows["search (hybrid, k=10)"]["p50"]
    print(f"target search p50 < 60 ms: {'met' if target < 60 else 'NOT met'} ({target:.1f} ms)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "chunks": n_chunks, "vectors": f"synthetic: {origin} + gaussian noise (sd 0.02)", "queries": len(queries),
        "cpu_count": os.cpu_count(), "load_avg": os.getloadavg()[0], "keyword_build_s": bm25_build_s,
        "keyword_snapshot_mb": snapshot_mb, "keyword_build_peak_mb": snapshot_peak_mb,
        "latency_ms": rows, "answer": answer_note,
    }, indent=2))
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
