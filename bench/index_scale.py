"""How indexing scales with the corpus: no-op re-sync time and peak memory at several corpus sizes.

Embedding 100k real articles takes days on 2 cores, so this bench swaps the model for SYNTHETIC vectors (a hash
of each passage's text, the model's dimension): everything else (loading, chunking, the manifest, Chroma writes,
the no-op check) is the real code path. The output says so. Each size runs in a fresh subprocess so peak RSS is
that size's own.

    .venv/bin/python bench/index_scale.py --sizes 1000 10000     # about 10 minutes on 2 cores
    .venv/bin/python bench/index_scale.py --sizes 10000 100000   # the issue's pair: hours
    NEWSDESK_CHROMA_HOST=127.0.0.1 NEWSDESK_CHROMA_PORT=8765 .venv/bin/python bench/index_scale.py  # server mode

Prints one table and writes JSON to ``bench/results/index_scale.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

RESULTS = ROOT / "bench" / "results"


class HashVectors:
    """Deterministic unit vectors from the text: costs microseconds, so the rest of the pipeline is what's timed."""

    model_id = "synthetic-hash-384"
    dim = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            rows.append(np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32))
        out = np.stack(rows)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def one_size(n: int, seed: int) -> dict[str, Any]:
    """Runs in its own process: full index, then a no-op re-sync, with peak RSS after each."""
    import resource

    from index_speed import write_corpus

    from index import Indexer, load_settings

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="newsdesk-scale-") as tmp:
        corpus = Path(tmp) / "news"
        write_corpus(corpus, n, seed)
        settings = load_settings(home=Path(tmp) / "home", collection=f"scale-{n}-{seed}-{int(time.time())}")
        indexer = Indexer(settings, embedder=HashVectors())
        started = time.perf_counter()
        report = indexer.sync([corpus])
        full_s = time.perf_counter() - started
        full_peak = peak_mb()
        started = time.perf_counter()
        noop = indexer.sync([corpus])
        noop_s = time.perf_counter() - started
        assert noop.unchanged == n and not noop.changed, noop.summary()
        return {"articles": n, "chunks": report.chunks_written, "full_index_s": round(full_s, 1),
                "noop_resync_s": round(noop_s, 2), "peak_rss_mb": round(full_peak), "peak_rss_after_noop_mb":
                round(peak_mb())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.seed)))
        return 0
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("SYNTHETIC vectors (hash of the text): the embedding model is not run; everything else is the real path.")
    print(f"{'articles':>9} {'chunks':>8} {'full index s':>13} {'no-op re-sync s':>16} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['articles']:>9} {r['chunks']:>8} {r['full_index_s']:>13} {r['noop_resync_s']:>16} "
              f"{r['peak_rss_mb']:>12}")
    if len(rows) > 1:
        print(f"peak RSS ratio {rows[-1]['articles']} / {rows[0]['articles']} articles: "
              f"{rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index_scale.json").write_text(json.dumps({"synthetic_vectors": True, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
