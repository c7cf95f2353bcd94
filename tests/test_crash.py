"""Crash safety and concurrent writers, with real `newsdesk index` processes killed by SIGKILL."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from filelock import FileLock
from hash_embedder import HashEmbedder

from assistant.retrieval import Retriever
from assistant.settings import load_settings
from index import Indexer, Store

NEWSDESK = [sys.executable, "-m", "assistant.cli"]
ROOT = Path(__file__).resolve().parent.parent
WAITING = "another newsdesk process is indexing"
WORDS = ("missile strike Kyiv power grid minister officials report border drone attack council election vote "
         "budget market inflation bank rate harbour flood rescue court ruling strike union talks").split()


def write_corpus(folder: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(4 + i % 4)]
        (folder / f"story-{i:04d}.txt").write_text(f"Story {i} seed {seed}\n" + " ".join(sentences) + "\n")


def run_index(home: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NEWSDESK, "--home", str(home), "index", str(folder)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def start_index(home: Path, folder: Path, after_articles: int) -> subprocess.Popen[str]:
    """Starts an index run and returns once its progress bar has passed ``after_articles`` articles."""
    proc = subprocess.Popen([*NEWSDESK, "--home", str(home), "index", str(folder)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = threading.Event()

    def watch() -> None:
        buffer = ""
        assert proc.stderr is not None
        while chunk := proc.stderr.read(64):
            buffer = (buffer + chunk)[-400:]
            counts = [int(n) for n in re.findall(r"articles=(\d+)", buffer)]
            if counts and max(counts) >= after_articles:
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    seen.wait(timeout=120)
    assert seen.is_set(), "the run finished or stalled before reaching that point"
    return proc


def start_and_kill(home: Path, folder: Path, after_articles: int) -> None:
    proc = start_index(home, folder, after_articles)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def snapshot(home: Path) -> dict[str, object]:
    """Everything a reader could see, normalised so two homes indexed from the same files compare equal."""
    store = Store(load_settings(home=home))
    store.catch_up()
    records = store.records()
    got = store.chunks.get(include=["metadatas", "documents"])
    chunks = list(zip(got["ids"], got["metadatas"], got["documents"]))
    by_article = Counter(meta["article_id"] for _, meta, _ in chunks)
    problems = []
    for rid, record in records.items():
        if not record.version or record.pending:
            problems.append(f"{rid}: uncommitted (version={record.version!r} pending={record.pending!r})")
        if by_article[rid] != record.n_chunks:
            problems.append(f"{rid}: {by_article[rid]} chunks stored, {record.n_chunks} expected")
    for cid, meta, _ in chunks:
        record = records.get(meta["article_id"])
        if record is None:
            problems.append(f"orphan chunk {cid}")
        elif meta["version"] != record.version:
            problems.append(f"stale chunk {cid} of version {meta['version']} (article is at {record.version})")
    printed = Counter((m["article_id"], m["version"]) for m in store.fingerprint_records.get(include=["metadatas"])
                      ["metadatas"])
    for rid, record in records.items():
        if not record.story:
            problems.append(f"{rid}: in no story")
        if printed[(rid, record.version)] != 1:
            problems.append(f"{rid}: {printed[(rid, record.version)]} fingerprints of its version")
    committed = {(rid, record.version) for rid, record in records.items()}
    problems += [f"stray fingerprint {key}" for key in printed if key not in committed]
    if store.regrouping is not None:
        problems.append(f"regrouping left unfinished: {store.regrouping}")
    return {
        "problems": problems,
        "articles": sorted((r.article_id.rsplit("/", 1)[-1], r.content_hash) for r in records.values()),
        "passages": sorted((meta["article_id"].rsplit("/", 1)[-1], meta["chunk"], doc) for _, meta, doc in chunks),
        "stories": sorted((r.article_id.rsplit("/", 1)[-1], r.story) for r in records.values()),
    }


@pytest.mark.parametrize("kill_at", [3, 40, 100])
def test_sigkill_mid_run_then_rerun_equals_a_clean_index(tmp_path: Path, kill_at: int) -> None:
    news, home, clean = tmp_path / "news", tmp_path / "home", tmp_path / "clean"
    write_corpus(news, 120, seed=1)
    assert run_index(home, news).returncode == 0
    # Edit a third, delete some, add some: the killed run is mid-way through updates, not only additions.
    write_corpus(news, 40, seed=2)
    for i in range(110, 120):
        (news / f"story-{i:04d}.txt").unlink()
    write_corpus(news / "more", 30, seed=3)

    start_and_kill(home, news, after_articles=kill_at)
    rerun = run_index(home, news)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert run_index(clean, news).returncode == 0

    after, expected = snapshot(home), snapshot(clean)
    assert after["problems"] == []
    assert len(after["articles"]) == 140  # type: ignore[arg-type]
    assert after["articles"] == expected["articles"]
    assert after["passages"] == expected["passages"]
    assert after["stories"] == expected["stories"]


SYNC_KILLED_AT = """
import os, signal, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from hash_embedder import HashEmbedder
from index import Indexer, Store
from assistant.settings import load_settings
method, nth = sys.argv[4], int(sys.argv[5])
original, calls = getattr(Store, method), []

def then_die(*args, **kwargs):
    out = original(*args, **kwargs)
    calls.append(1)
    if len(calls) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return out

setattr(Store, method, then_die)
print(Indexer(load_settings(home=Path(sys.argv[2])), embedder=HashEmbedder()).sync([sys.argv[3]]).summary())
"""


def write_stories(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` word-list stories of 400-1200 words (3-8 passages), each with 0-3 re-publications (generated as
    bench/story_grouping.py measures them), dated so a story's base comes first; returns the files by story."""
    sys.path.insert(0, str(ROOT / "bench"))
    from story_grouping import Writer, republish

    rng = random.Random(seed)
    writer = Writer(rng, [])
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        paragraphs = writer.article()
        versions = [paragraphs] + [republish(paragraphs, writer)[1] for _ in range(rng.randint(0, 3))]
        for j, text in enumerate(versions):
            path = folder / f"s{seed}-{i:03d}-{j}-2024-05-{1 + i % 20 + j:02d}.txt"
            path.write_text(f"Story {i} take {j}\n\n" + "\n\n".join(text) + "\n")
            files.append(path)
    return files


@pytest.mark.parametrize(("method", "nth"), [
    ("put_fingerprints", 1),  # a batch's passages and fingerprints written, nothing committed
    ("begin_regroup", 1),     # a regrouping announced, nothing committed
    ("put_records", 2),       # a batch committed, the stories' other members not yet relabelled
    ("relabel", 2),           # relabelled, old versions not yet dropped, announcement not cleared
    ("delete_article", 3),    # midway through removing articles whose stories regroup
])
def test_sigkill_mid_regrouping_then_rerun_equals_a_clean_index(tmp_path: Path, method: str, nth: int) -> None:
    news, home, clean = tmp_path / "news", tmp_path / "home", tmp_path / "clean"
    files = write_stories(news, 25, seed=1)
    Indexer(load_settings(home=home), embedder=HashEmbedder()).sync([news])
    # Earliest members removed (their stories relabel or split), copies of other stories added (joins, merges),
    # some articles rewritten into other stories' copies.
    for path in files[::7]:
        path.unlink()
    write_stories(news / "more", 10, seed=2)
    rest = [f for f in files if f.exists()]
    for path, other in zip(rest[1::9], rest[4::9]):
        path.write_text("Rewritten\n\n" + other.read_text().split("\n\n", 1)[1] + "\nA correction was added.\n")

    killed = subprocess.run([sys.executable, "-c", SYNC_KILLED_AT, str(ROOT), str(home), str(news), method, str(nth)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    Indexer(load_settings(home=home), embedder=HashEmbedder()).sync([news])
    Indexer(load_settings(home=clean), embedder=HashEmbedder()).sync([news])

    after, expected = snapshot(home), snapshot(clean)
    assert after["problems"] == []
    assert after["articles"] == expected["articles"]
    assert after["stories"] == expected["stories"]
    assert len(set(dict(after["stories"]).values())) < len(after["stories"]) - 10  # type: ignore[arg-type]


OPEN_AT = """
import sys, time
from pathlib import Path
from index import Store
from assistant.settings import load_settings
start = float(sys.argv[2])
for round_ in range(12):  # every process opens the same fresh home at the same instant, twelve times over
    settings = load_settings(home=Path(sys.argv[1]) / str(round_))
    while time.time() < start + 0.5 * round_:
        time.sleep(0.001)
    Store(settings).articles.count()
"""


def test_processes_opening_a_fresh_home_at_once_all_succeed(tmp_path: Path) -> None:
    # Chroma creates its tables on first open; two processes doing that at once used to crash one of them.
    start = str(time.time() + 6)  # after the imports
    runs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(tmp_path), start], cwd=ROOT, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * 3, "\n".join(errors)


SYNC_WITH_HASH_VECTORS = """
import sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from hash_embedder import HashEmbedder
from index import Indexer
from assistant.settings import load_settings
print(Indexer(load_settings(home=Path(sys.argv[2])), embedder=HashEmbedder()).sync([sys.argv[3]]).chunks_written)
"""
COUNT_VECTORS = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from index import Store
from assistant.settings import load_settings
store = Store(load_settings(home=Path(sys.argv[2])))
got = store.chunks.get(include=["embeddings"])
found = store.chunks.query(query_embeddings=got["embeddings"][:1], n_results=10000, include=[])
print(len(got["ids"]), len(found["ids"][0]))  # passages, and those dense search can reach
"""


def test_a_long_running_process_sees_what_another_process_indexed(indexer: Indexer, news_dir: Path,
                                                                  tmp_path: Path) -> None:
    # The web app keeps the store open while `newsdesk index` runs in a terminal. Chroma caches the vector index
    # per process: without a reload the new passages stayed invisible to dense search, and hybrid search failed.
    indexer.sync([news_dir])
    hybrid = Retriever(indexer.settings, indexer.store, indexer.embedder)
    dense = Retriever(indexer.settings.model_copy(update={"retrieval_mode": "dense"}), indexer.store,
                      indexer.embedder)
    question = "Wombatfest parade in Canberra"
    assert "Wombatfest goes ahead" not in [p.title for p in hybrid.search(question, k=3)]
    more = tmp_path / "more"
    more.mkdir()
    (more / "wombatfest.txt").write_text("Wombatfest goes ahead\nThe Wombatfest parade in Canberra went ahead "
                                         "despite the heat.\n")
    assert run_index(indexer.settings.home, more).returncode == 0
    for retriever in (hybrid, dense):
        best = retriever.search(question, k=3)[0]
        assert best.title == "Wombatfest goes ahead" and "despite the heat" in best.text


def test_writes_from_two_processes_keep_every_vector(tmp_path: Path) -> None:
    # A long-running writer (the web app's watcher or uploads) after another process wrote: Chroma used to save its
    # stale vector index over the other's, and hundreds of passages lost their vectors for good.
    home = tmp_path / "home"
    for name, seed in (("one", 1), ("two", 2), ("three", 3)):
        write_corpus(tmp_path / name, 600, seed)
    indexer = Indexer(load_settings(home=home), embedder=HashEmbedder())
    assert indexer.sync([tmp_path / "one"]).chunks_written == 600
    other = subprocess.run([sys.executable, "-c", SYNC_WITH_HASH_VECTORS, str(ROOT), str(home), str(tmp_path / "two")],
                           capture_output=True, text=True, timeout=300)
    assert other.stdout.strip() == "600", other.stderr[-2000:]
    assert indexer.sync([tmp_path / "three"]).chunks_written == 600
    fresh = subprocess.run([sys.executable, "-c", COUNT_VECTORS, str(ROOT), str(home)], capture_output=True,
                           text=True, timeout=300)
    assert fresh.stdout.split() == ["1800", "1800"], fresh.stderr[-2000:]


def test_concurrent_writers_on_one_home_are_serialised(tmp_path: Path) -> None:
    news, home = tmp_path / "news", tmp_path / "home"
    write_corpus(news / "a", 40, seed=4)
    write_corpus(news / "b", 40, seed=5)
    home.mkdir()
    holder = FileLock(str(home / "index.lock"))
    holder.acquire()  # a writer is busy: both runs below must wait, say so, then proceed one at a time
    logs = [tmp_path / f"{part}.err" for part in "ab"]
    try:
        runs = [subprocess.Popen([*NEWSDESK, "--home", str(home), "index", "--quiet", str(news / part)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
                for part, log in zip("ab", logs)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(WAITING in log.read_text() for log in logs):
            time.sleep(0.2)
        assert all(WAITING in log.read_text() for log in logs), "\n".join(log.read_text() for log in logs)
        assert all(run.poll() is None for run in runs), "a run went ahead while the lock was held"
    finally:
        holder.release()
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0
        assert out.startswith("added 40,")
    state = snapshot(home)
    assert state["problems"] == []
    assert len(state["articles"]) == 80  # type: ignore[arg-type]
