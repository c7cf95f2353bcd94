"""Chat under load while the server re-indexes: concurrent sessions against ``newsdesk serve`` (loopback only).

Starts ``newsdesk serve`` on a free 127.0.0.1 port with a temporary data home (the sample articles plus a small
generated base corpus, indexed at start-up) and a watched folder. Then, at the same moment, drops ``--articles``
generated articles into the watched folder (the server's own watcher re-indexes them: the realistic case, one
process owning the on-disk store) and starts ``--sessions`` chat sessions (threads), each asking ``--questions``
questions in one conversation through the OpenAI-compatible ``/v1/chat/completions``. Bounded: every request has a
timeout, the whole run has ``--max-seconds``, and the server is stopped at the end.

    .venv/bin/python bench/load_chat.py                                   # 20 sessions x 5 questions, 1,000 articles
    .venv/bin/python bench/load_chat.py --sessions 20 --questions 2 --articles 200

Prints errors and p50/p95 latency (all requests, and those that ran while the re-index was still going) and writes
JSON to ``bench/results/load_chat-<sessions>x<questions>-<articles>.json``. Target: 0 errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
RESULTS = ROOT / "bench" / "results"
NEWSDESK = str(Path(sys.executable).parent / "newsdesk")

TOWNS = ["Port Ellis", "Marrow Bay", "Kestrel Falls", "Ashford Vale", "Linden Cross", "Harwick", "Solent Mere"]
TOPICS = [
    ("council", "approved a budget of {n} million for road repairs and school roofs"),
    ("harbour", "reopened after {n} weeks of dredging, and the first container ship docked before noon"),
    ("hospital", "opened a new ward with {n} beds after two years of building work"),
    ("river", "flooded {n} homes after three days of heavy rain, the fire service said"),
    ("rail", "restored {n} daily trains to the coast line after the bridge repairs ended"),
    ("library", "lent {n} thousand books last year, a record according to its director"),
]
QUESTIONS = [
    "How many ballistic missiles did Russia launch at Kyiv on 20 December 2024?",
    "What happened in Kyiv on 2 January 2024?",
    "What did Putin propose about a missile duel?",
    "How many homes did the river flood in {town}?",
    "What budget did the {town} council approve?",
    "How many beds does the new hospital ward in {town} have?",
    "When did the harbour in {town} reopen?",
    "How many books did the {town} library lend last year?",
]


def article(rng: random.Random, i: int) -> str:
    town = rng.choice(TOWNS)
    topic, fact = rng.choice(TOPICS)
    lines = [f"{town} {topic} update {i}", ""]
    for _ in range(rng.randint(6, 12)):
        lines.append(f"The {town} {topic} {fact.format(n=rng.randint(2, 90))}. Residents said the change was "
                     f"{rng.choice(['welcome', 'overdue', 'controversial', 'expensive', 'a relief'])}, and officials "
                     f"promised a further report in {rng.choice(['March', 'June', 'September', 'December'])}.")
    return "\n".join(lines) + "\n"


def write_articles(folder: Path, n: int, seed: int, prefix: str) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        day = 1 + i % 28
        (folder / f"{prefix}-{i:05d}-2025-03-{day:02d}.txt").write_text(article(rng, i), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Call:
    session: int
    turn: int
    started: float
    """Seconds since the load began."""
    seconds: float
    ok: bool
    during_reindex: bool
    error: str = ""


class Server:
    """``newsdesk serve`` as a child process; its stderr is read on a thread to follow the watcher's syncs."""

    def __init__(self, home: Path, base: Path, watch: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
        env.update(NEWSDESK_HOME=str(home), NEWSDESK_WATCH_DEBOUNCE="1.0")
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [NEWSDESK, "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(base), "--watch",
             str(watch)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.watch = str(watch)
        self.lines: list[str] = []
        self.added = 0
        self.sync_errors: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip())
                if f" folder {self.watch}:" in line:
                    match = re.search(r"added (\d+)", line)
                    self.added += int(match[1]) if match else 0
                    if "failed" in line and not re.search(r"failed 0\b", line):
                        self.sync_errors.append(line.strip())
                self.cond.notify_all()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("newsdesk serve exited:\n" + "\n".join(self.lines[-20:]))
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n" + "\n".join(self.lines[-20:]))

    def wait_added(self, n: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.added >= n, timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def ask(url: str, messages: list[dict[str, str]], timeout: float) -> str:
    body = json.dumps({"model": "newsdesk", "messages": messages}).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        payload = json.loads(r.read())
    text = payload["choices"][0]["message"]["content"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty answer")
    return text


def session(index: int, url: str, questions: int, timeout: float, t0: float, reindex_done: threading.Event,
            calls: list[Call], stop_at: float, lock: threading.Lock) -> None:
    rng = random.Random(index)
    messages: list[dict[str, str]] = []
    for turn in range(questions):
        if time.monotonic() > stop_at:
            return
        question = rng.choice(QUESTIONS).format(town=rng.choice(TOWNS))
        messages.append({"role": "user", "content": question})
        started = time.monotonic()
        during = not reindex_done.is_set()
        error = ""
        try:
            messages.append({"role": "assistant", "content": ask(url, messages, timeout)})
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}: {exc.read()[:200]!r}"
        except Exception as exc:  # timeouts, resets, bad JSON: all count as errors
            error = f"{type(exc).__name__}: {exc}"
        if error:
            messages.pop()
        with lock:
            calls.append(Call(index, turn, started - t0, time.monotonic() - started, not error, during, error))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(calls: list[Call]) -> dict[str, Any]:
    ok = [c.seconds for c in calls if c.ok]
    return {"requests": len(calls), "errors": sum(not c.ok for c in calls),
            "p50_s": percentile(ok, 50), "p95_s": percentile(ok, 95), "max_s": max(ok) if ok else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5, help="questions per session (one conversation)")
    parser.add_argument("--articles", type=int, default=1000, help="articles re-indexed during the load")
    parser.add_argument("--base", type=int, default=50, help="generated articles indexed before the load")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the whole load phase")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="newsdesk-load-"))
    server: Server | None = None
    try:
        base, watch, incoming = work / "base", work / "watch", work / "incoming"
        shutil.copytree(SAMPLE, base)
        write_articles(base, args.base, args.seed, "base")
        watch.mkdir()
        write_articles(incoming, args.articles, args.seed + 1, "load")  # written beforehand, moved in at once
        started = time.monotonic()
        server = Server(work / "home", base, watch, free_port())
        server.wait_ready(600)
        startup = time.monotonic() - started
        print(f"server ready in {startup:.1f} s (indexed {args.base} + sample articles)", file=sys.stderr)

        calls: list[Call] = []
        lock = threading.Lock()
        reindex_done = threading.Event()
        t0 = time.monotonic()
        stop_at = t0 + args.max_seconds
        for path in sorted(incoming.iterdir()):  # a rename per file: the watcher sees whole files only
            path.rename(watch / path.name)
        threads = [threading.Thread(target=session, args=(i, server.url, args.questions, args.timeout, t0,
                                                          reindex_done, calls, stop_at, lock), daemon=True)
                   for i in range(args.sessions)]
        for thread in threads:
            thread.start()
        indexed = server.wait_added(args.articles, max(1.0, stop_at - time.monotonic()))
        reindex_s = time.monotonic() - t0
        reindex_done.set()
        for thread in threads:
            thread.join(max(1.0, stop_at - time.monotonic()) + args.timeout)
        load_s = time.monotonic() - t0
        hung = sum(t.is_alive() for t in threads)

        during = [c for c in calls if c.during_reindex]
        result = {
            "sessions": args.sessions, "questions": args.questions, "articles": args.articles, "base": args.base,
            "startup_s": round(startup, 1), "reindex_s": round(reindex_s, 1), "reindex_complete": indexed,
            "articles_indexed": server.added, "sync_errors": server.sync_errors, "load_s": round(load_s, 1),
            "sessions_unfinished": hung, "all": summary(calls), "during_reindex": summary(during),
            "error_samples": [c.error for c in calls if not c.ok][:5], "cpu_count": os.cpu_count(),
            "calls": [asdict(c) for c in sorted(calls, key=lambda c: c.started)],
        }
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load_chat-{args.sessions}x{args.questions}-{args.articles}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    a, d = result["all"], result["during_reindex"]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f} s"

    print(f"{args.sessions} sessions x {args.questions} questions while re-indexing {args.articles} articles "
          f"(re-index {'done' if indexed else 'NOT done'} in {reindex_s:.1f} s, {server.added} added)")
    print(f"  all requests:     {a['requests']:4d}  errors {a['errors']}  p50 {fmt(a['p50_s'])}  p95 {fmt(a['p95_s'])}"
          f"  max {fmt(a['max_s'])}")
    print(f"  during re-index:  {d['requests']:4d}  errors {d['errors']}  p50 {fmt(d['p50_s'])}  p95 {fmt(d['p95_s'])}")
    if hung:
        print(f"  {hung} session(s) still waiting at the time limit")
    print(f"  -> {out.relative_to(ROOT)}")
    return 0 if a["errors"] == 0 and not hung and indexed else 1


if __name__ == "__main__":
    sys.exit(main())
