"""newsdesk against a default llama-index pipeline: same corpus, same embedding model, same chunk size, one run.

(a) the pipeline a llama-index tutorial would write: ``SimpleDirectoryReader`` documents into
``VectorStoreIndex.from_documents`` over a ``ChromaVectorStore`` (persistent Chroma in a temp dir), with
``Settings.chunk_size/chunk_overlap`` set to newsdesk's and the embedding model wrapped in a small
``BaseEmbedding`` adapter around the very same ``index.pipeline.embedding`` embedder; everything else is llama-index's
default (including its ``embed_batch_size`` of 10 and metadata in the embedded text). Queries go through
``as_retriever(similarity_top_k=10)``.
(b) newsdesk: ``Indexer.sync`` then ``Assistant.search(k=10)``.

Measured: full index time, re-index after 1% of the articles change (the default pipeline has no incremental path: it
re-runs ``from_documents`` into a fresh collection and re-embeds everything; newsdesk re-syncs incrementally), query
latency p50 and, when ``../shared/bench/realtimeqa-dev`` exists, Hits@10/MRR@10 on the dev set (scored with
``assistant.evaluate.evidence_rank``). The generated corpus comes from ``bench/index_speed.py``.

    .venv/bin/python bench/vs_llamaindex.py                      # 300 articles + the full dev set
    .venv/bin/python bench/vs_llamaindex.py -n 100 --dev-articles 300   # quicker: dev subset of 300 passages
    .venv/bin/python bench/vs_llamaindex.py -n 20 --no-dev       # smoke run

Prints one table and writes JSON to ``bench/results/vs_llamaindex-<N>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import chromadb  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from index_speed import dev_sentences, peak_rss_mb, write_corpus  # noqa: E402
from llama_index.core import Document, SimpleDirectoryReader, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core import Settings as LlamaSettings  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.vector_stores.chroma import ChromaVectorStore  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402
from retrieval_eval import write_corpus as write_dev_corpus  # noqa: E402

from assistant.assistant import Assistant  # noqa: E402
from assistant.evaluate import evidence_rank, read_questions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from index import Indexer  # noqa: E402
from index.pipeline.embedding import Embedder, make_embedder  # noqa: E402

DEV = ROOT.parent / "shared" / "bench" / "realtimeqa-dev"
RESULTS = BENCH / "results"
CHANGE = "\nUpdate: officials corrected the figures in this report on Friday afternoon.\n"


class SameModel(BaseEmbedding):
    """llama-index view of newsdesk's embedder, so both pipelines embed with the identical model and runtime."""

    _inner: Any = PrivateAttr()

    def __init__(self, inner: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=inner.model_id, **kwargs)
        self._inner = inner

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._inner.embed([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._inner.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed(list(texts)).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


CPU: dict[str, float] = {}


def timed(fn: Callable[[], Any], cpu_key: str = "") -> tuple[Any, float]:
    """Wall seconds; with ``cpu_key`` also the process CPU seconds (all threads), steadier on a shared machine."""
    started, cpu = time.perf_counter(), time.process_time()
    out = fn()
    if cpu_key:
        CPU[cpu_key] = round(time.process_time() - cpu, 2)
    return out, time.perf_counter() - started


class LlamaPipeline:
    """The default pipeline; every build goes into a fresh collection, as ``from_documents`` does."""

    def __init__(self, root: Path, embed_model: SameModel) -> None:
        self.client = chromadb.PersistentClient(path=str(root), settings=ChromaSettings(anonymized_telemetry=False))
        self.embed_model = embed_model
        self.builds = 0
        self.index: VectorStoreIndex | None = None

    def build(self, documents: list[Document]) -> int:
        self.builds += 1
        collection = self.client.get_or_create_collection(f"llama-{self.builds}")
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        self.index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=self.embed_model)
        return collection.count()

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.index is not None
        nodes = self.index.as_retriever(similarity_top_k=k).retrieve(query)
        return [n.node.get_content() for n in nodes]


def p50_ms(search: Callable[[str], Any], queries: list[str]) -> float:
    search("warm up")
    latencies = []
    for q in queries:
        _, s = timed(lambda q=q: search(q))
        latencies.append(s * 1000)
    return statistics.median(latencies)


def corpus_queries(n: int, seed: int) -> list[str]:
    """Short questions made of dev sentences (or fixed phrases): what matters here is the latency, not the answer."""
    rng = random.Random(seed)
    sentences = dev_sentences() or ["officials said the storm closed the airport", "the council approved the budget"]
    return [" ".join(rng.choice(sentences).split()[:12]) for _ in range(n)]


def run_corpus(work: Path, n: int, seed: int, embedder: Embedder, n_queries: int) -> dict[str, Any]:
    corpus = work / "corpus"
    info = write_corpus(corpus, n, seed)
    settings = load_settings(home=work / "home")
    out: dict[str, Any] = {"corpus": {**info, "seed": seed}}

    indexer = Indexer(settings, embedder=embedder)
    full, full_s = timed(lambda: indexer.sync([corpus]), "newsdesk_full")
    assert full.failed == 0 and full.added == n, full.summary()
    llama = LlamaPipeline(work / "llama-chroma", SameModel(embedder))
    llama_chunks, llama_full_s = timed(lambda: llama.build(SimpleDirectoryReader(str(corpus)).load_data()),
                                       "llama_full")

    rng = random.Random(seed + 1)
    changed = rng.sample(sorted(corpus.iterdir()), max(1, n // 100))
    for path in changed:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(CHANGE)
    delta, delta_s = timed(lambda: indexer.sync([corpus]), "newsdesk_reindex")
    assert delta.updated == len(changed), delta.summary()
    _, llama_delta_s = timed(lambda: llama.build(SimpleDirectoryReader(str(corpus)).load_data()),
                             "llama_reindex")

    assistant = Assistant(settings, store=indexer.store, embedder=embedder)
    queries = corpus_queries(n_queries, seed)
    out["newsdesk"] = {"full_index_s": full_s, "full_index_cpu_s": CPU["newsdesk_full"],
                       "reindex_1pct_cpu_s": CPU["newsdesk_reindex"], "chunks": full.chunks_written,
                       "reindex_1pct_s": delta_s,
                       "reindex_chunks_embedded": delta.chunks_embedded,
                       "query_p50_ms": p50_ms(lambda q: assistant.search(q, k=10), queries)}
    out["llamaindex"] = {"full_index_s": llama_full_s, "full_index_cpu_s": CPU["llama_full"],
                         "reindex_1pct_cpu_s": CPU["llama_reindex"], "chunks": llama_chunks,
                         "reindex_1pct_s": llama_delta_s,
                         "reindex_note": "from_documents into a fresh collection: re-embeds every chunk",
                         "query_p50_ms": p50_ms(llama.search, queries)}
    out["changed_articles"] = len(changed)
    out["queries"] = len(queries)
    return out


def dev_subset(limit: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """The first ``limit`` dev passages and the questions whose gold evidence lies in them (all when limit is 0)."""
    articles = [json.loads(line) for line in (DEV / "articles.jsonl").open(encoding="utf-8") if line.strip()]
    questions, _ = read_questions(DEV / "questions.jsonl")
    questions = [q for q in questions if q.evidence]
    if limit and limit < len(articles):
        articles = articles[:limit]
        texts = ["".join(a.get("text", "").split()) for a in articles]
        questions = [q for q in questions
                     if any("".join(e.split()) in t for e in q.evidence for t in texts)]
    return articles, questions


def scores(search: Callable[[str], list[str]], questions: list[Any]) -> dict[str, float]:
    ranks, latencies = [], []
    for q in questions:
        texts, s = timed(lambda q=q: search(q.question))
        latencies.append(s * 1000)
        ranks.append(evidence_rank(texts, q.evidence))
    n = len(ranks) or 1
    return {"hits@10": sum(1 for r in ranks if r and r <= 10) / n,
            "mrr@10": sum(1 / r for r in ranks if r and r <= 10) / n,
            "search_p50_ms": statistics.median(latencies) if latencies else 0.0}


def run_dev(work: Path, embedder: Embedder, limit: int) -> dict[str, Any]:
    articles, questions = dev_subset(limit)
    home = work / "dev-home"
    home.mkdir(parents=True)
    subset = home / "subset.jsonl"
    subset.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    corpus = home / "realtimeqa-dev.jsonl"
    write_dev_corpus(subset, corpus)
    settings = load_settings(home=home)
    indexer = Indexer(settings, embedder=embedder)
    _, nd_index_s = timed(lambda: indexer.sync([corpus]))
    assistant = Assistant(settings, store=indexer.store, embedder=embedder)

    documents = [Document(text=a.get("text", ""), metadata={k: a.get(k, "") for k in ("title", "source", "published",
                                                                                          "url")})
                 for a in articles]
    llama = LlamaPipeline(work / "dev-llama-chroma", SameModel(embedder))
    _, ll_index_s = timed(lambda: llama.build(documents))
    return {"articles": len(articles), "questions": len(questions),
            "newsdesk": {**scores(lambda q: [p.text for p in assistant.search(q, k=10)], questions),
                         "index_s": nd_index_s},
            "llamaindex": {**scores(llama.search, questions), "index_s": ll_index_s}}


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def table(r: dict[str, Any]) -> str:
    nd, ll = r["newsdesk"], r["llamaindex"]
    rows = [("", "llama-index", "newsdesk", "llama / newsdesk"),
            ("chunks", f"{ll['chunks']}", f"{nd['chunks']}", ""),
            ("full index s", f"{ll['full_index_s']:.1f}", f"{nd['full_index_s']:.1f}",
             ratio(ll["full_index_s"], nd["full_index_s"])),
            ("full index CPU s", f"{ll['full_index_cpu_s']:.1f}", f"{nd['full_index_cpu_s']:.1f}",
             ratio(ll["full_index_cpu_s"], nd["full_index_cpu_s"])),
            (f"re-index after {r['changed_articles']} changed s", f"{ll['reindex_1pct_s']:.1f} (re-embeds all)",
             f"{nd['reindex_1pct_s']:.2f}", ratio(ll["reindex_1pct_s"], nd["reindex_1pct_s"])),
            (f"query p50 ms ({r['queries']} q)", f"{ll['query_p50_ms']:.1f}", f"{nd['query_p50_ms']:.1f}",
             ratio(ll["query_p50_ms"], nd["query_p50_ms"]))]
    dev = r.get("dev")
    if isinstance(dev, dict):
        dl, dn = dev["llamaindex"], dev["newsdesk"]
        label = f"dev ({dev['articles']} passages, {dev['questions']} q)"
        rows += [(f"{label} Hits@10", f"{dl['hits@10']:.3f}", f"{dn['hits@10']:.3f}", ""),
                 (f"{label} MRR@10", f"{dl['mrr@10']:.3f}", f"{dn['mrr@10']:.3f}", ""),
                 ("dev search p50 ms", f"{dl['search_p50_ms']:.1f}", f"{dn['search_p50_ms']:.1f}",
                  ratio(dl["search_p50_ms"], dn["search_p50_ms"]))]
    else:
        rows.append(("dev set", "skipped", str(dev), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--articles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--queries", type=int, default=30, help="latency queries on the generated corpus")
    parser.add_argument("--dev-articles", type=int, default=0, help="index only the first N dev passages (0 = all)")
    parser.add_argument("--no-dev", action="store_true", help="skip the dev-set part")
    args = parser.parse_args(argv)

    settings = load_settings()
    LlamaSettings.chunk_size = settings.chunk_size
    LlamaSettings.chunk_overlap = settings.chunk_overlap
    embedder = make_embedder(settings)
    embedder.embed(["warm up the model"])
    work = Path(tempfile.mkdtemp(prefix="newsdesk-vs-llama-"))
    try:
        result = run_corpus(work, args.articles, args.seed, embedder, args.queries)
        if args.no_dev:
            result["dev"] = "--no-dev"
        elif not (DEV / "articles.jsonl").is_file() or not (DEV / "questions.jsonl").is_file():
            result["dev"] = f"no dev set at {DEV}"
        else:
            result["dev"] = run_dev(work, embedder, args.dev_articles)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["settings"] = {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
                          "embed_model": embedder.model_id, "newsdesk_embed_batch_size": settings.embed_batch_size,
                          "llamaindex_embed_batch_size": SameModel(embedder).embed_batch_size}
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
                         "peak_rss_mb": round(peak_rss_mb(), 1)}
    print(table(result))
    print(f"(load average at end {result['machine']['load_avg_at_end']}: timings from a shared, busy machine)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"vs_llamaindex-{args.articles}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
