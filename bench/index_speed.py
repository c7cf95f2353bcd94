"""Indexing speed on a generated corpus of realistic-length news articles, against the embedding floor.

Generates N articles of 400-1200 words (sentences drawn from the RealTimeQA dev passages in
``../shared/bench/realtimeqa-dev`` when present, else from a built-in word list; fixed seed), indexes them into a
temporary data home with the real ``Indexer`` and measures, in one run:

- full index: seconds, chunks/s, peak RSS;
- no-op re-sync (nothing changed) and 1%-changed re-sync (a paragraph appended to 1% of the articles);
- embed-only: the exact texts the full index embedded, replayed through the same embedder in the same calls
  (same batches, same batch size) — the floor. ``index / embed-only`` is the overhead ratio;
- story grouping's share of each run: the seconds spent in fingerprinting, placing articles in stories and
  writing fingerprints and labels (``index.pipeline.stories``), measured inside the run.

    .venv/bin/python bench/index_speed.py                  # N=2000 (about 20 minutes on 2 cores)
    .venv/bin/python bench/index_speed.py --quick          # N=100, under 2 minutes
    .venv/bin/python bench/index_speed.py -n 500 --profile # pyinstrument profile of the full index

Prints one table and writes JSON to ``bench/results/index_speed-<N>.json`` (and the profile next to it).
Settings come from the environment as usual (``NEWSDESK_EMBED_BATCH_SIZE``, ``NEWSDESK_CHUNK_SIZE`` ...).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.settings import load_settings  # noqa: E402
from index import Indexer, Store  # noqa: E402
from index.pipeline import stories  # noqa: E402
from index.pipeline.embedding import Embedder, make_embedder  # noqa: E402

DEV_ARTICLES = ROOT.parent / "shared" / "bench" / "realtimeqa-dev" / "articles.jsonl"
RESULTS = ROOT / "bench" / "results"
WORDS = (
    "government minister officials said on tuesday the city council police report election vote economy prices "
    "inflation bank rates market shares company workers strike union hospital health patients doctors school "
    "students teachers court judge ruling law parliament president prime opposition party leader talks deal "
    "agreement border troops military attack missile drone defence ceasefire aid refugees storm flood fire rain "
    "weather climate energy power grid gas oil exports trade tariffs growth budget tax spending debt investors "
    "technology software data privacy regulators investigation spokesperson statement week month year million "
    "billion percent people residents community local national international region capital coast village "
    "airport flights train transport road bridge construction housing rent families children season team match "
    "coach players championship final record museum exhibition film festival artist award science researchers "
    "study vaccine virus cases"
).split()


def dev_sentences() -> list[str]:
    """Sentences of real news passages: realistic vocabulary and sentence lengths for the tokenizer and splitter."""
    if not DEV_ARTICLES.is_file():
        return []
    sentences: list[str] = []
    with DEV_ARTICLES.open(encoding="utf-8") as handle:
        for line in handle:
            text = " ".join(json.loads(line).get("text", "").split())
            sentences.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", text) if len(s.split()) >= 5)
    return sentences


def word_sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 28))]
    return " ".join(words).capitalize() + "."


def make_article(rng: random.Random, sentences: list[str]) -> tuple[str, str]:
    """A title and 400-1200 words of paragraphs of 2-6 sentences."""
    def sentence() -> str:
        return rng.choice(sentences) if sentences else word_sentence(rng)

    target = rng.randint(400, 1200)
    paragraphs: list[str] = []
    words = 0
    while words < target:
        para = " ".join(sentence() for _ in range(rng.randint(2, 6)))
        paragraphs.append(para)
        words += len(para.split())
    title = " ".join(sentence().rstrip(".").split()[:rng.randint(6, 12)])
    return title, "\n\n".join(paragraphs)


def write_corpus(folder: Path, n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sentences = dev_sentences()
    folder.mkdir(parents=True)
    words = 0
    for i in range(n):
        title, body = make_article(rng, sentences)
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        (folder / f"story-{i:06d}-{day}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        words += len(body.split())
    return {"articles": n, "words": words, "vocabulary": "realtimeqa-dev sentences" if sentences else "word list"}


class Recording:
    """The real embedder, recording each call's texts (so the floor replays exactly the same calls)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls: list[list[str]] = []
        self.seconds = 0.0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        started = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - started
        return out


class GroupingClock:
    """Seconds spent in story grouping: its entry points timed, outermost calls only (``prepare`` calls
    ``place``, ``place`` reads the store)."""

    ENTRY_POINTS = ((stories.Stories, "place"), (stories.Stories, "prepare"), (stories.Stories, "remove"),
                    (stories, "fingerprint"), (Store, "put_fingerprints"), (Store, "relabel"),
                    (Store, "begin_regroup"), (Store, "end_regroup"))

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0
        for owner, name in self.ENTRY_POINTS:
            setattr(owner, name, self._timed(getattr(owner, name)))

    def _timed(self, fn: Any) -> Any:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.seconds += time.perf_counter() - started

        return timed_call

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Any) -> tuple[Any, float, float]:
    """Result, wall seconds and process CPU seconds (the latter less distorted by other processes)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - started, time.process_time() - started_cpu


def run(n: int, seed: int, profile: bool, keep: Path | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    try:
        corpus = work / "corpus"
        info, gen_s, _ = timed(lambda: write_corpus(corpus, n, seed))
        settings = load_settings(home=work / "home")
        embedder = Recording(make_embedder(settings))
        _, load_s, _ = timed(lambda: embedder.inner.embed(["warm up the model"]))  # loading is reported separately
        indexer = Indexer(settings, embedder=embedder)
        grouping = GroupingClock()
        rss_before = peak_rss_mb()

        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.01)
            profiler.start()
        full, full_s, full_cpu_s = timed(lambda: indexer.sync([corpus]))
        if profiler:
            profiler.stop()
        rss_full = peak_rss_mb()
        full_grouping_s = grouping.take()
        assert full.failed == 0 and full.added == n, full.summary()
        embed_in_index_s = embedder.seconds
        calls = embedder.calls
        embedder.calls = []

        noop, noop_s, _ = timed(lambda: indexer.sync([corpus]))
        noop_grouping_s = grouping.take()
        assert noop.unchanged == n and not embedder.calls, noop.summary()

        rng = random.Random(seed + 1)
        changed = rng.sample(sorted(corpus.iterdir()), max(1, n // 100))
        for path in changed:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\nUpdate: officials corrected the figures in this report on Friday afternoon.\n")
        delta, delta_s, _ = timed(lambda: indexer.sync([corpus]))
        delta_grouping_s = grouping.take()
        assert delta.updated == len(changed), delta.summary()

        # The floor: the same texts through the same embedder in the same calls, nothing else.
        def replay() -> None:
            for texts in calls:
                embedder.inner.embed(texts)

        _, floor_s, floor_cpu_s = timed(replay)
        chunks = full.chunks_written
        result: dict[str, Any] = {
            "corpus": {**info, "seed": seed, "generate_s": round(gen_s, 2)},
            "settings": {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
                         "embed_model": embedder.model_id, "embed_batch_size": settings.embed_batch_size,
                         "embed_threads": settings.embed_threads or os.cpu_count()},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "model_load_s": round(load_s, 2),
            "full_index_s": round(full_s, 2),
            "chunks": chunks,
            "chunks_embedded": full.chunks_embedded,
            "chunks_per_s": round(chunks / full_s, 2),
            "embed_calls": len(calls),
            "embed_time_inside_index_s": round(embed_in_index_s, 2),
            "embed_only_s": round(floor_s, 2),
            "index_over_embed_only": round(full_s / floor_s, 3),
            "index_over_embed_inside_index": round(full_s / embed_in_index_s, 3),
            "full_index_cpu_s": round(full_cpu_s, 1),
            "embed_only_cpu_s": round(floor_cpu_s, 1),
            "index_over_embed_only_cpu": round(full_cpu_s / floor_cpu_s, 3),
            "non_embedding_s": round(full_s - embed_in_index_s, 2),
            "peak_rss_mb": round(rss_full, 1),
            "rss_before_index_mb": round(rss_before, 1),
            "noop_resync_s": round(noop_s, 2),
            "changed_resync_s": round(delta_s, 2),
            "changed_articles": len(changed),
            "changed_chunks_embedded": delta.chunks_embedded,
            "changed_chunks_written": delta.chunks_written,
            "grouping_in_full_index_s": round(full_grouping_s, 2),
            "grouping_share_of_full_index": round(full_grouping_s / full_s, 4),
            "grouping_in_noop_resync_s": round(noop_grouping_s, 4),
            "grouping_in_changed_resync_s": round(delta_grouping_s, 3),
            "stories": len({r.story for r in indexer.store.records().values()}),
        }
        if profiler:
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"index_speed-{n}-profile.txt"
            out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
            result["profile"] = str(out.relative_to(ROOT))
        if keep:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(r: dict[str, Any]) -> str:
    rows = [
        ("articles / words", f"{r['corpus']['articles']:,} / {r['corpus']['words']:,} ({r['corpus']['vocabulary']})"),
        ("chunks (embedded)", f"{r['chunks']:,} ({r['chunks_embedded']:,}) in {r['embed_calls']} embed calls"),
        ("model load", f"{r['model_load_s']:.2f} s"),
        ("full index", f"{r['full_index_s']:.1f} s"),
        ("chunks/s", f"{r['chunks_per_s']:.1f}"),
        ("embed-only (same calls)", f"{r['embed_only_s']:.1f} s"),
        ("index / embed-only", f"{r['index_over_embed_only']:.3f} wall, {r['index_over_embed_only_cpu']:.3f} CPU "
                               f"({r['full_index_cpu_s']:.0f} / {r['embed_only_cpu_s']:.0f} CPU s)"),
        ("embedding inside index", f"{r['embed_time_inside_index_s']:.1f} s (rest {r['non_embedding_s']:.1f} s, "
                                   f"index / embedding inside = {r['index_over_embed_inside_index']:.3f})"),
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MB (before index {r['rss_before_index_mb']:.0f} MB)"),
        ("no-op re-sync", f"{r['noop_resync_s']:.2f} s"),
        ("1%-changed re-sync", f"{r['changed_resync_s']:.2f} s ({r['changed_articles']} articles, "
                               f"{r['changed_chunks_embedded']} of {r['changed_chunks_written']} chunks embedded)"),
        ("story grouping inside", f"full {r['grouping_in_full_index_s']:.2f} s "
                                  f"({100 * r['grouping_share_of_full_index']:.2f}%), no-op "
                                  f"{r['grouping_in_noop_resync_s'] * 1000:.1f} ms, 1%-changed "
                                  f"{r['grouping_in_changed_resync_s']:.2f} s; {r['stories']:,} stories"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--articles", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="N=100: a check in under two minutes")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the full index")
    parser.add_argument("--keep", type=Path, help="copy the corpus and data home here afterwards")
    args = parser.parse_args()
    n = 100 if args.quick else args.articles
    result = run(n, args.seed, args.profile, args.keep)
    print(table(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"index_speed-{n}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}" + (f" and {result['profile']}" if "profile" in result else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
