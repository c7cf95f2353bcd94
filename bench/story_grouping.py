"""Story grouping quality: precision and recall of near-duplicate grouping on generated re-publications.

Base stories are re-published with the edits a wire story gets between outlets (a new headline always, then one to
three of: byline, dateline, boilerplate footer, rewritten lead, trimmed tail, an added paragraph, copy edits), and
mixed with stories that must stay apart: other stories on the same topics, and follow-ups that repeat one or two
background paragraphs of an earlier story. Three corpora:

- ``long``: 400-1200-word stories built from sentences of the RealTimeQA dev passages (``../shared/bench``; the
  built-in word list without it), plus the two bundled sample articles (two Kyiv strike stories a year apart);
- ``short``: 514 of the 1,027 RealTimeQA dev passages themselves (one to three sentences each, many on the same topics:
  COVID, elections, storms), each a story, re-published (edits drawn from the other passages); skipped without
  the dev set;
- ``store``: the ``long`` corpus indexed through the real ``Indexer`` into a temporary store (vectors from a hash,
  not the model), groups read back from the store: what the product does, candidates and all.

For each pair of articles the estimated containment (``index.pipeline.fingerprints``) is compared with the truth;
a threshold's precision and recall are over pairs, after grouping (connected components, as the index groups).

    .venv/bin/python bench/story_grouping.py              # all three, thresholds 0.3-0.8
    .venv/bin/python bench/story_grouping.py --stories 30 # smaller

Prints one table per corpus and writes JSON to ``bench/results/story_grouping.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.pipeline import fingerprints as fp  # noqa: E402

DEV_ARTICLES = ROOT.parent / "shared" / "bench" / "realtimeqa-dev" / "articles.jsonl"
SAMPLE = ROOT / "data" / "sample"
RESULTS = ROOT / "bench" / "results"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

WORDS = (
    "government minister officials said on tuesday the city council police report election vote economy prices "
    "inflation bank rates market shares company workers strike union hospital health patients doctors school "
    "students teachers court judge ruling law parliament president prime opposition party leader talks deal "
    "agreement border troops military attack missile drone defence ceasefire aid refugees storm flood fire rain "
    "weather climate energy power grid gas oil exports trade tariffs growth budget tax spending debt investors"
).split()
NAMES = ("Jane Smith", "Olena Kovalenko", "Tom Becker", "Amira Haddad", "Luis Ortega", "Mei Lin", "Sam Okafor")
AGENCIES = ("Reuters", "AP", "AFP", "Bloomberg", "dpa", "The Wire")
FOOTERS = (
    "Sign up for our morning newsletter to get the day's top stories in your inbox.",
    "Reporting by {name}; additional reporting by {other}; editing by {third}.",
    "(c) 2024 {agency}. All rights reserved. This material may not be published, broadcast, rewritten or "
    "redistributed without permission.",
    "Follow our live coverage for the latest updates. Have a news tip? Contact the newsroom.",
    "{name} is a correspondent for {agency} covering politics and security.",
)
EDITS = (("Kiev", "Kyiv"), ("percent", "per cent"), ("on Tuesday", "on Tuesday morning"), ("said", "told reporters"),
         ("the government", "the administration"), ("people", "residents"))


@dataclass(frozen=True)
class Doc:
    story: int
    """Ground truth: docs with the same story number are one story."""
    kind: str
    """base, copy (a re-publication) or follow-up (another story repeating a base story's background)."""
    title: str
    text: str


# -- generating ----------------------------------------------------------------------------------------------------

def dev_passages() -> list[str]:
    if not DEV_ARTICLES.is_file():
        return []
    with DEV_ARTICLES.open(encoding="utf-8") as handle:
        return [" ".join(re.sub(r"<[^>]+>", "", json.loads(line)["text"]).split()) for line in handle]


def sentences_of(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", text) if s.strip()]


class Writer:
    """Sentences for new paragraphs: real ones from the dev passages when present, else word-list sentences."""

    def __init__(self, rng: random.Random, passages: list[str]) -> None:
        self.rng = rng
        self.pool = [s for p in passages for s in sentences_of(p) if len(s.split()) >= 5]

    def other(self) -> Writer:
        """A writer drawing from the other half of the sentences: edits never bring in another story's text."""
        twin = Writer(self.rng, [])
        twin.pool, self.pool = self.pool[1::2], self.pool[::2]
        return twin

    def sentence(self) -> str:
        if self.pool:
            return self.rng.choice(self.pool)
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(8, 24))).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def article(self, low: int = 400, high: int = 1200) -> list[str]:
        target, paragraphs, words = self.rng.randint(low, high), [], 0
        while words < target:
            paragraphs.append(self.paragraph())
            words += len(paragraphs[-1].split())
        return paragraphs

    def title(self) -> str:
        return " ".join(self.sentence().rstrip(".").split()[:self.rng.randint(6, 12)])


def republish(paragraphs: list[str], writer: Writer, short: bool = False) -> tuple[list[str], list[str]]:
    """A re-publication of a story given as paragraphs (sentences for a short one): the edits made, and the text."""
    rng = writer.rng
    name, other, third = rng.sample(NAMES, 3)
    agency = rng.choice(AGENCIES)
    out = list(paragraphs)
    edits = ["byline", "dateline", "boilerplate", "copy-edit", "added paragraph"]
    if len(out) >= 3:
        edits += ["new lead", "trimmed"]
    chosen = rng.sample(edits, rng.randint(1, 3))
    for edit in chosen:
        if edit == "byline":
            out.insert(0, f"By {name}, {agency}")
        elif edit == "dateline":
            out[0] = f"{rng.choice(('KYIV', 'WASHINGTON', 'LONDON', 'BRUSSELS'))} ({agency}) - {out[0]}"
        elif edit == "boilerplate":
            for footer in rng.sample(FOOTERS, rng.randint(1, 2)):
                out.append(footer.format(name=name, other=other, third=third, agency=agency))
        elif edit == "copy-edit":
            for at in rng.sample(range(len(out)), min(len(out), 3)):
                old, new = rng.choice(EDITS)
                out[at] = out[at].replace(old, new, 1) if old in out[at] else out[at].replace(" ", " also ", 1)
        elif edit == "added paragraph":
            out.insert(rng.randint(1, len(out)), writer.sentence() if short else writer.paragraph())
        elif edit == "new lead":
            out[0] = writer.sentence() if short else writer.paragraph()
        elif edit == "trimmed":
            keep = max(1, round(len(out) * rng.uniform(0.5, 0.9)))
            out = out[:keep]
    return chosen, out


def follow_up(paragraphs: list[str], writer: Writer) -> list[str]:
    """Another story that repeats one or two paragraphs of the second half of ``paragraphs`` (the background)."""
    rng = writer.rng
    fresh = writer.article()
    later = paragraphs[len(paragraphs) // 2:]
    for background in rng.sample(later, min(len(later), rng.randint(1, 2))):
        fresh.insert(rng.randint(1, len(fresh)), background)
    return fresh


def sample_stories() -> list[tuple[str, list[str]]]:
    stories = []
    for path in sorted(SAMPLE.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        stories.append((lines[0], lines[1:]))
    return stories


def long_corpus(n_stories: int, seed: int, passages: list[str]) -> list[Doc]:
    rng = random.Random(seed)
    writer = Writer(rng, passages)
    editor = writer.other()
    bases = sample_stories() + [(writer.title(), writer.article()) for _ in range(n_stories)]
    docs: list[Doc] = []
    story = 0
    for title, paragraphs in bases:
        docs.append(Doc(story, "base", title, "\n\n".join(paragraphs)))
        for _ in range(rng.randint(0, 3)):
            _, text = republish(paragraphs, editor)
            docs.append(Doc(story, "copy", editor.title(), "\n\n".join(text)))
        story += 1
        if rng.random() < 0.4:  # a later story on the same subject, repeating its background
            docs.append(Doc(story, "follow-up", editor.title(), "\n\n".join(follow_up(paragraphs, editor))))
            story += 1
    return docs


def short_corpus(seed: int, passages: list[str]) -> list[Doc]:
    rng = random.Random(seed)
    bases, material = passages[::2], passages[1::2]  # edits draw on passages that are not stories here
    writer = Writer(rng, material)
    docs: list[Doc] = []
    for story, passage in enumerate(bases):
        docs.append(Doc(story, "base", f"passage {story}", passage))
        parts = sentences_of(passage)
        for _ in range(rng.randint(0, 2)):
            _, text = republish(parts, writer, short=True)
            docs.append(Doc(story, "copy", f"passage {story} again", " ".join(text)))
    return docs


# -- measuring -----------------------------------------------------------------------------------------------------

def containments(prints: list[fp.Fingerprint]) -> np.ndarray:
    """Estimated containment of every pair (upper triangle; the rest 0), as ``fingerprints.containment`` does."""
    signatures = np.stack([p.signature for p in prints])
    sizes = np.array([p.size for p in prints], dtype=np.float64)
    n = len(prints)
    out = np.zeros((n, n), dtype=np.float32)
    for i in range(n - 1):
        j_hat = (signatures[i + 1:] == signatures[i]).mean(axis=1)
        smaller = np.minimum(sizes[i], sizes[i + 1:])
        both = np.maximum(smaller, 1)
        estimate = np.minimum(1.0, j_hat * (sizes[i] + sizes[i + 1:]) / (1 + j_hat) / both)
        groupable = (sizes[i] >= fp.MIN_SHINGLES) & (sizes[i + 1:] >= fp.MIN_SHINGLES)
        out[i, i + 1:] = np.where(groupable, estimate, 0.0)
    return out


def components(n: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    return [root(x) for x in range(n)]


def pair_scores(truth: list[int], groups: list[int]) -> dict[str, Any]:
    """Precision and recall over pairs of articles: grouped together vs truly one story."""
    def pairs_of(labels: list[int]) -> set[tuple[int, int]]:
        by: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            by.setdefault(label, []).append(i)
        return {(a, b) for members in by.values() for x, a in enumerate(members) for b in members[x + 1:]}

    true, grouped = pairs_of(truth), pairs_of(groups)
    hit = len(true & grouped)
    return {"true_pairs": len(true), "grouped_pairs": len(grouped), "precision": hit / len(grouped) if grouped else 1.0,
            "recall": hit / len(true) if true else 1.0}


def evaluate(docs: list[Doc], thresholds: Iterable[float]) -> dict[str, Any]:
    started = time.perf_counter()
    prints = [fp.fingerprint(d.text) for d in docs]
    sign_ms = (time.perf_counter() - started) / len(docs) * 1000
    scores = containments(prints)
    truth = [d.story for d in docs]
    same = np.array(truth)[:, None] == np.array(truth)[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    positives, negatives = scores[same & upper], scores[~same & upper]
    follow = [i for i, d in enumerate(docs) if d.kind == "follow-up"]
    hard = [max(scores[min(i, j), max(i, j)] for j in range(len(docs)) if j != i) for i in follow]
    rows = {}
    for t in thresholds:
        found = np.argwhere(scores >= t)
        rows[f"{t:.2f}"] = {
            **pair_scores(truth, components(len(docs), ((int(a), int(b)) for a, b in found))),
            "pair_recall": float((positives >= t).mean()) if positives.size else 1.0,
            "false_pairs": int((negatives >= t).sum()),
        }
    return {
        "articles": len(docs), "stories": len(set(truth)),
        "copies": sum(d.kind == "copy" for d in docs), "follow_ups": len(follow),
        "median_words": int(np.median([len(d.text.split()) for d in docs])),
        "fingerprint_ms_per_article": round(sign_ms, 3),
        "positive_containment_p5_p50": [round(float(np.percentile(positives, q)), 3) for q in (5, 50)]
        if positives.size else None,
        "negative_containment_max_p999": [round(float(negatives.max()), 3),
                                          round(float(np.percentile(negatives, 99.9)), 3)] if negatives.size else None,
        "follow_up_containment_max": round(float(max(hard)), 3) if hard else None,
        "thresholds": rows,
    }


def through_store(docs: list[Doc]) -> dict[str, Any]:
    """Index ``docs`` with the real ``Indexer`` (hash vectors) and score the stories the store holds."""
    import hashlib

    from assistant.settings import load_settings
    from index import Indexer

    class HashVectors:
        model_id, dim = "bench-hash-64", 64

        def embed(self, texts: list[str]) -> np.ndarray:
            seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little") for t in texts]
            out = np.stack([np.random.default_rng(s).normal(size=self.dim) for s in seeds]).astype(np.float32)
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    with tempfile.TemporaryDirectory(prefix="newsdesk-stories-") as work:
        folder = Path(work) / "news"
        folder.mkdir()
        for i, doc in enumerate(docs):
            (folder / f"doc-{i:05d}.txt").write_text(f"{doc.title}\n\n{doc.text}\n", encoding="utf-8")
        indexer = Indexer(load_settings(home=Path(work) / "home"), embedder=HashVectors())
        started = time.perf_counter()
        report = indexer.sync([folder])
        seconds = time.perf_counter() - started
        by_name = {Path(rid).name: r.story for rid, r in indexer.store.records().items()}
    # (an exact duplicate of another doc's text is stored once, whichever came first: left out of the scores)
    kept = [(d, by_name[f"doc-{i:05d}.txt"]) for i, d in enumerate(docs) if f"doc-{i:05d}.txt" in by_name]
    labels = {s: n for n, s in enumerate(dict.fromkeys(story for _, story in kept))}
    return {"articles": len(kept), "index_s": round(seconds, 1), "summary": report.summary(),
            "stories_found": len(labels), "stories_true": len({d.story for d, _ in kept}),
            **pair_scores([d.story for d, _ in kept], [labels[story] for _, story in kept])}


def table(name: str, result: dict[str, Any]) -> str:
    head = (f"{name}: {result['articles']} articles, {result['stories']} stories ({result['copies']} copies, "
            f"{result['follow_ups']} follow-ups), median {result['median_words']} words; "
            f"fingerprint {result['fingerprint_ms_per_article']} ms/article")
    lines = [head, f"  containment of copies p5/p50 {result['positive_containment_p5_p50']}, of other pairs "
                   f"max/p99.9 {result['negative_containment_max_p999']}, follow-ups max "
                   f"{result['follow_up_containment_max']}",
             "  threshold  precision  recall  (pairs: grouped / true; recall before chaining; false pairs)"]
    for t, row in result["thresholds"].items():
        lines.append(f"  {t:>9}  {row['precision']:9.3f}  {row['recall']:6.3f}  ({row['grouped_pairs']} / "
                     f"{row['true_pairs']}; {row['pair_recall']:.3f}; {row['false_pairs']})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=300, help="generated long base stories")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-store", action="store_true", help="skip indexing through the store")
    args = parser.parse_args()
    passages = dev_passages()
    results: dict[str, Any] = {"vocabulary": "realtimeqa-dev sentences" if passages else "word list",
                               "scheme": fp.SCHEME, "threshold": fp.CONTAINMENT, "min_shingles": fp.MIN_SHINGLES}
    long_docs = long_corpus(args.stories, args.seed, passages)
    results["long"] = evaluate(long_docs, THRESHOLDS)
    print(table("long", results["long"]))
    if passages:
        results["short"] = evaluate(short_corpus(args.seed, passages), THRESHOLDS)
        print("\n" + table("short (realtimeqa passages)", results["short"]))
    else:
        print("\nshort: skipped: no dev set (bench data lives in ../shared/bench beside the repo)")
    if not args.no_store:
        results["store"] = through_store(long_docs)
        s = results["store"]
        print(f"\nstore (threshold {fp.CONTAINMENT}): precision {s['precision']:.3f}, recall {s['recall']:.3f}, "
              f"{s['stories_found']} stories found of {s['stories_true']}, indexed in {s['index_s']} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "story_grouping.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
