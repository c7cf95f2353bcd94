"""How indexing scales with the corpus: no-op re-sync time and peak memory at several corpus sizes.

Embedding 100k real articles (845k passages) takes about five hours on 2 cores, so this bench swaps the model for
SYNTHETIC vectors (a hash of each passage's text, the model's dimension): everything else (loading, chunking, the
manifest, Chroma writes, the no-op check) is the real code path. The output says so. Each size runs in a fresh
subprocess so peak RSS is that size's own.

    .venv/bin/python bench/index_scale.py --sizes 1000 10000            # about 10 minutes on 2 cores
    .venv/bin/python bench/index_scale.py --sizes 10000 100000          # the README scale rows: 45-60 minutes
    .venv/bin/python bench/index_scale.py --sizes 10000 100000 --server # the same against `chroma run`

With ``--server`` each size gets its own ``chroma run`` on a free 127.0.0.1 port, and the table shows the server's
peak RSS beside the indexing process's. "vector index MB" is the size of Chroma's HNSW files after the run: the part
of the store that Chroma keeps in memory, which is where on-disk mode's growth goes.

Prints one table and writes JSON to ``bench/results/index_scale[-server].json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
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


HNSW_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")


def vector_index_mb(chroma_dir: Path) -> float:
    return sum(f.stat().st_size for f in chroma_dir.rglob("*.bin") if f.name in HNSW_FILES) / 2**20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def chroma_server(data: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """A fresh `chroma run` on loopback, stopped afterwards."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (data.parent / "chroma-server.log").open("wb")
    process = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def peak_rss_of(pid: int) -> float:
    """VmHWM: the high-water mark of a live process's resident set, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def one_size(n: int, seed: int, server: bool, trace: bool = False) -> dict[str, Any]:
    """Runs in its own process so peak RSS is this size's own."""
    from index_speed import write_corpus

    with tempfile.TemporaryDirectory(prefix="newsdesk-scale-") as tmp:
        corpus = Path(tmp) / "news"
        write_corpus(corpus, n, seed)
        if not server:
            return index_and_resync(corpus, n, seed, Path(tmp) / "home", None, trace)
        with chroma_server(Path(tmp) / "chroma-server") as (port, process):
            row = index_and_resync(corpus, n, seed, Path(tmp) / "home", port, trace)
            row["server_peak_rss_mb"] = round(peak_rss_of(process.pid))
        row["vector_index_mb"] = round(vector_index_mb(Path(tmp) / "chroma-server"))
        return row


class ProgressLine:
    """A long run says how far it got (on stderr, which the parent passes through)."""

    def __init__(self, n: int) -> None:
        self.n, self.shown, self.started = n, -1, time.perf_counter()

    def __call__(self, progress: Any) -> None:
        percent = 100 * progress.files_done // max(progress.files_total, 1)
        if percent // 10 > self.shown:
            self.shown = percent // 10
            print(f"  {self.n} articles: {percent}% after {time.perf_counter() - self.started:.0f} s",
                  file=sys.stderr, flush=True)


def index_and_resync(corpus: Path, n: int, seed: int, home: Path, port: int | None,
                     trace: bool = False) -> dict[str, Any]:
    """Full index, then a no-op re-sync, with the indexing process's peak RSS after each. With ``trace`` the full
    index runs under tracemalloc (slower): the Python heap's peak, and where what it still holds was allocated."""
    import resource
    import tracemalloc

    from assistant.settings import load_settings
    from index import Indexer

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    server = {"chroma_host": "127.0.0.1", "chroma_port": port} if port else {}
    settings = load_settings(home=home, collection=f"scale-{n}-{seed}-{int(time.time())}", **server)
    indexer = Indexer(settings, embedder=HashVectors())
    if trace:
        tracemalloc.start(8)
        before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    report = indexer.sync([corpus], progress=ProgressLine(n))
    full_s = time.perf_counter() - started
    full_peak = peak_mb()
    if trace:
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        held = tracemalloc.take_snapshot().compare_to(before, "lineno")
        tracemalloc.stop()
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = f"index_scale-{n}{'-server' if port else ''}-memory.txt"
        (RESULTS / name).write_text(
            f"{n} articles, {'server' if port else 'on-disk'}: Python heap peak {heap_peak:.1f} MB during the full "
            f"index, peak RSS {full_peak:.0f} MB. Still held afterwards, by allocation site:\n"
            + "\n".join(str(stat) for stat in held[:15]) + "\n")
    started = time.perf_counter()
    noop = indexer.sync([corpus])
    noop_s = time.perf_counter() - started
    assert noop.unchanged == n and not noop.changed, noop.summary()
    row = {"articles": n, "chunks": report.chunks_written, "full_index_s": round(full_s, 1),
           "noop_resync_s": round(noop_s, 2), "peak_rss_mb": round(full_peak),
           "peak_rss_after_noop_mb": round(peak_mb())}
    if trace:
        row["python_heap_peak_mb"] = round(heap_peak, 1)
    if not port:
        row["vector_index_mb"] = round(vector_index_mb(settings.chroma_path))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--server", action="store_true", help="index into a fresh `chroma run` per size")
    parser.add_argument("--trace-memory", action="store_true",
                        help="run the full index under tracemalloc (slower): Python heap peak and what it holds")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.seed, args.server, args.trace_memory)))
        return 0
    rows = []
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
        command += ["--server"] if args.server else []
        command += ["--trace-memory"] if args.trace_memory else []
        out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    mode = "Chroma server (`chroma run` on 127.0.0.1)" if args.server else "on-disk Chroma (PersistentClient)"
    print("SYNTHETIC vectors (hash of the text): the embedding model is not run; everything else is the real path.")
    print(f"Store: {mode}.")
    heap_col = f" {'Python heap peak MB':>20}" if args.trace_memory else ""
    server_col = f" {'server peak MB':>15}" if args.server else ""
    print(f"{'articles':>9} {'chunks':>8} {'full index s':>13} {'no-op re-sync s':>16} {'peak RSS MB':>12}"
          f"{heap_col}{server_col} {'vector index MB':>16}")
    for r in rows:
        heap_cell = f" {r['python_heap_peak_mb']:>20}" if args.trace_memory else ""
        server_cell = f" {r['server_peak_rss_mb']:>15}" if args.server else ""
        print(f"{r['articles']:>9} {r['chunks']:>8} {r['full_index_s']:>13} {r['noop_resync_s']:>16} "
              f"{r['peak_rss_mb']:>12}{heap_cell}{server_cell} {r['vector_index_mb']:>16}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"indexing-process peak RSS ratio {last['articles']} / {first['articles']} articles: "
              f"{last['peak_rss_mb'] / first['peak_rss_mb']:.2f}")
        if args.server:
            print(f"server peak RSS ratio: {last['server_peak_rss_mb'] / first['server_peak_rss_mb']:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "index_scale-server.json" if args.server else "index_scale.json"
    (RESULTS / name).write_text(json.dumps({"synthetic_vectors": True, "server": args.server, "rows": rows},
                                           indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
