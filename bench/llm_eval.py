"""Answers in LLM mode, measured: a real model behind ``OPENAI_BASE_URL`` answering dev and sample questions.

Everything goes through the public ``assistant.assistant.Assistant`` exactly as the web chat calls it (streamed,
markers checked and renumbered, refusals detected), against whatever model the environment names
(``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``NEWSDESK_LLM_MODEL``, ``NEWSDESK_LLM_CONTEXT_TOKENS`` ...). A local
model: ``scripts/llm_server.sh`` prints the exports to use.

- **dev**: a deterministic sample of ``../shared/bench/realtimeqa-dev/questions.jsonl`` (``--limit``, ``--seed``;
  stratified by the month asked, so the sample spans the file's two years), "today" pinned to each ``asked_on``.
  Skipped cleanly when the bench data is absent.
- **sample**: questions about the bundled sample articles (``data/sample``), "today" pinned to 2024-12-31, including
  traps the articles do not answer (a refusal there is the right answer).

Scores: CRAG rule of ``../shared/bench/README.md`` (correct = not refused and holding the gold answer, case- and
whitespace-insensitively; a sample trap is correct when refused, wrong when answered); refused before the call
(the off-topic gate refused, the LLM never ran); citation precision (cited passages holding the gold evidence,
whitespace stripped, either containing the other since an article may span several passages); citation recall
(answer sentences carrying a valid ``[n]``); markers the product dropped; time to first token and total.

    OPENAI_BASE_URL=http://127.0.0.1:8088/v1 OPENAI_API_KEY=local .venv/bin/python bench/llm_eval.py --limit 40
    .venv/bin/python bench/llm_eval.py --limit 6 --home /tmp/llm-dev-home --out /tmp/answers.jsonl --json r.json

Every answer is written to ``--out`` (JSONL: question, gold, the model's raw reply, the final text, citations,
timings) so marker styles and refusal phrasings can be read. Only loopback endpoints unless ``--allow-remote``.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from retrieval_eval import write_corpus  # noqa: E402  (the dev articles with an id per line)

from assistant.answer.refusal import is_refusal  # noqa: E402
from assistant.assistant import Assistant  # noqa: E402
from assistant.llm import Markers  # noqa: E402
from assistant.llm.markers import claims  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.types import Answer  # noqa: E402
from index import Indexer  # noqa: E402
from index.pipeline.embedding import make_embedder  # noqa: E402
from index.pipeline.tokens import count_tokens  # noqa: E402
from index.sources.markup import plain_text  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "bench"
DEV = "realtimeqa-dev"
SAMPLE = ROOT / "data" / "sample"
SAMPLE_TODAY = date(2024, 12, 31)
"""The sample articles' "now" (as in bench/refusal_eval.py): January and December 2024 are both in the past."""


@dataclass(frozen=True)
class Case:
    question: str
    gold: str | None
    """Short gold answer; ``None`` for a trap (the right answer is a refusal)."""
    evidence: tuple[str, ...] = ()
    today: date | None = None
    set: str = "dev"


SAMPLE_CASES = [
    Case("How many missiles hit Kyiv on January 2?", "100", ("involved about 100 missiles",)),
    Case("Which cities were hit besides Kyiv?", "Kharkiv", ("The northeastern Kharkiv region was also targeted",)),
    Case("What did Putin propose?", "duel", ("Putin sarcastically proposed a",
                                             "He proposed that they select a target in Kyiv")),
    Case("How many people died in the attacks?", "five", ("death toll of at least five people killed",)),
    Case("What share of the Russian barrage did Ukraine intercept?", "three-quarters",
         ("intercept about three-quarters of the Russian barrage",)),
    Case("Who claimed responsibility for killing Igor Kirillov?", "SBU", ("the SBU, claimed responsibility",)),
    Case("What did Zelensky call Putin?", "dumbass", ("referring to Russian President Vladimir Putin as a",
                                                      "Dumbass.")),
    Case("What did the Pope say about the Kyiv strikes?", None),
    Case("How did Biden respond to the Kyiv strikes?", None),
    Case("What is the capital of Australia?", None),
]
"""Gold answers from the two sample articles. "How many people died" is ambiguous across the two articles (five
in January, one in December): answering "one" from the December story is scored wrong, and worth reading."""


def refused_before_call(answer: Answer) -> bool:
    """Refused before the LLM was asked: in LLM mode only the off-topic gate (``assistant.answer.gate``) does that.
    The only trace of a generated answer is its ``generate`` lap."""
    return answer.refused and "generate" not in answer.timings_ms


# --- the raw reply, before the product checks markers -------------------------------------------------------------


@dataclass
class Call:
    messages: list[dict[str, str]]
    pieces: list[str] = field(default_factory=list)
    started: float = 0.0
    first_piece: float | None = None
    ended: float | None = None

    @property
    def raw(self) -> str:
        return "".join(self.pieces)


class Recorder:
    """Wraps ``assistant.llm.stream`` (the instance attribute, no product code touched) to keep what the model
    actually sent: the product only shows text after its marker parser, and the raw text is what reveals marker
    styles and refusal phrasings."""

    def __init__(self, assistant: Assistant) -> None:
        self.calls: list[Call] = []
        llm = assistant.llm
        assert llm is not None
        inner = llm.stream

        def stream(messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
            call = Call(messages, started=time.perf_counter())
            self.calls.append(call)
            for piece in inner(messages, max_tokens):
                if call.first_piece is None:
                    call.first_piece = time.perf_counter()
                call.pieces.append(piece)
                yield piece
            call.ended = time.perf_counter()

        llm.stream = stream  # type: ignore[method-assign]

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls


class PromptTokens:
    """Prompt tokens as the model counts them: llama.cpp's ``/apply-template`` + ``/tokenize`` when the server has
    them (one loopback round trip each), else tiktoken's cl100k estimate (what the product budgets with)."""

    def __init__(self, base_url: str | None) -> None:
        root = (base_url or "").rstrip("/")
        self.root = root.removesuffix("/v1") if is_loopback(root) else ""
        self.exact = bool(self.root)

    def count(self, messages: list[dict[str, str]]) -> tuple[int, str]:
        if self.exact:
            try:
                prompt = self._post("/apply-template", {"messages": messages})["prompt"]
                tokens = self._post("/tokenize", {"content": prompt, "parse_special": True})["tokens"]
                return len(tokens), "model"
            except Exception:  # not llama.cpp, or an older one: fall back for the rest of the run
                self.exact = False
        return sum(count_tokens(m["content"]) + 4 for m in messages), "cl100k"

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.root + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only, checked)
            return json.load(response)


# --- scoring ------------------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w]+")
REMOVED = re.compile(r"(\d+) citation marker\(s\) pointing at no passage were removed")
RAW_MARKER_STYLES: list[tuple[str, re.Pattern[str]]] = [
    ("[n]", re.compile(r"\[\s*\d+\s*\]")),
    ("[n, m]", re.compile(r"\[\s*\d+(?:\s*,\s*\d+)+\s*\]")),
    ("[n-m]", re.compile(r"\[\s*\d+\s*[-–]\s*\d+\s*\]")),
    ("[Passage n]", re.compile(r"\[\s*(?:passages?|sources?|doc(?:ument)?s?)\s*\d+[^\]]{0,20}\]", re.IGNORECASE)),
    ("(Passage n)", re.compile(r"\(\s*(?:passages?|sources?)\s*\d+[^)]{0,20}\)", re.IGNORECASE)),
    ("Passage n (bare)", re.compile(r"(?<![\[(\w])(?:passages?|source)\s+\d+\b", re.IGNORECASE)),
    ("【n】", re.compile(r"【[^】]{0,20}】")),
    ("[^n]", re.compile(r"\[\^\d+\]")),
    ("(n)", re.compile(r"(?<!\w)\(\d+\)")),
    ("<passage> tag", re.compile(r"</?passage\b[^>]*>", re.IGNORECASE)),
    ("[other]", re.compile(r"\[(?!\s*(?:passages?|sources?|doc(?:ument)?s?)\s*\d|\^)[^\[\]\d][^\[\]]{0,30}\]",
                           re.IGNORECASE)),
]
"""Citation styles seen in raw replies. The product's parser (``assistant.llm.markers``) reads all but ``(n)``, bare
"Passage n", ``<passage>`` tags and ``[other]``; whatever of these is left in a final answer counts as unparsed."""
PARSED_STYLES = ("[n]", "[n, m]", "[n-m]")
PROMPT_PASSAGE = re.compile(r'<passage n="\d+"')
PROMPT_BLOCK = re.compile(r'<passage n="\d+"[^>]*>\n(.*?)\n</passage>', re.DOTALL)
FULL_STOP_THEN_MARKER = re.compile(r"[.!?]\s+\[\d+")
"""``Fact. [1]``: the product credits such a marker to the sentence before (``markers.claims``); counted to see how
often a model writes it."""


def contains_gold(text: str, gold: str) -> bool:
    """CRAG containment, case-, punctuation- and whitespace-insensitive on word boundaries (as ``newsdesk eval``)."""
    norm_gold = " ".join(_NON_WORD.sub(" ", gold.lower()).split())
    norm_text = " ".join(_NON_WORD.sub(" ", text.lower()).split())
    return bool(norm_gold) and f" {norm_gold} " in f" {norm_text} "


def squash(text: str) -> str:
    return "".join(text.split())


def holds_evidence(passage_text: str, evidence: tuple[str, ...]) -> bool:
    """Whitespace-stripped containment either way: a gold article longer than one passage still counts."""
    flat = squash(passage_text)
    return any(g and (g in flat or flat in g) for g in (squash(plain_text(e)) for e in evidence))


def sentences_cited(text: str, n_citations: int) -> tuple[int, int]:
    """(answer sentences, those carrying a valid ``[n]``), as the product credits markers to sentences
    (``markers.claims``: ``Fact. [1] Next`` credits the sentence before; lines holding only markers are no
    sentences)."""
    sentences = claims(text)
    return len(sentences), sum(1 for _, marks in sentences if any(1 <= n <= n_citations for n in marks))


def raw_styles(raw: str) -> Counter[str]:
    return Counter({name: len(p.findall(raw)) for name, p in RAW_MARKER_STYLES if p.search(raw)})


@dataclass
class Row:
    case: Case
    answer: Answer
    calls: list[Call]
    prompt_tokens: int | None
    token_source: str | None

    @property
    def refused(self) -> bool:
        return self.answer.refused

    @property
    def verdict(self) -> str:
        if self.case.gold is None:
            return "correct" if self.refused else "wrong"
        if self.refused:
            return "refused"
        return "correct" if contains_gold(self.answer.text, self.case.gold) else "wrong"

    @property
    def llm_failed(self) -> bool:
        return "Showing the offline answer instead" in (self.answer.notice or "")

    @property
    def prompt_passages(self) -> list[str]:
        """The passage texts the model was shown (last call), unescaped: was the gold evidence in front of it?"""
        if not self.calls:
            return []
        return [html.unescape(t) for t in PROMPT_BLOCK.findall(self.calls[-1].messages[-1]["content"])]

    @property
    def dropped(self) -> int:
        """Marker numbers naming no passage, by the product's own parser run over the raw reply (the answer's
        notice counts them only when some citation survives)."""
        dropped = 0
        for call in self.calls:
            markers = Markers(len(PROMPT_PASSAGE.findall(call.messages[-1]["content"])))
            markers.feed(call.raw)
            markers.flush()
            dropped += markers.dropped
        return dropped

    @property
    def dropped_in_notice(self) -> int:
        found = REMOVED.search(self.answer.notice or "")
        return int(found.group(1)) if found else 0

    @property
    def unparsed(self) -> Counter[str]:
        """Citation-like text the parser did not read, left in the final answer (e.g. ``[Passage 1]``)."""
        found = raw_styles(self.answer.text) if self.calls and not self.refused else Counter()
        return Counter({k: v for k, v in found.items() if k not in PARSED_STYLES})

    @property
    def raw(self) -> str:
        return "\n".join(c.raw for c in self.calls)

    def ms(self, *laps: str) -> float | None:
        t = self.answer.timings_ms
        return sum(t[k] for k in laps if k in t) if all(k in t for k in laps) else None

    def to_json(self) -> dict[str, Any]:
        a = self.answer
        return {
            "set": self.case.set, "question": self.case.question, "gold": self.case.gold,
            "today": self.case.today.isoformat() if self.case.today else None,
            "verdict": self.verdict, "refused": a.refused, "refused_before_call": refused_before_call(a),
            "llm_called": bool(self.calls), "llm_failed": self.llm_failed,
            "raw": self.raw if self.calls else None, "raw_styles": dict(raw_styles(self.raw)),
            "markers_dropped": self.dropped, "unparsed_in_answer": dict(self.unparsed),
            "raw_is_refusal": is_refusal(self.raw) if self.calls else None,
            "answer": a.text, "notice": a.notice, "mode": a.mode, "standalone_question": a.question,
            "prompt_passages": len(self.prompt_passages),
            "gold_in_prompt": (any(holds_evidence(t, self.case.evidence) for t in self.prompt_passages)
                               if self.calls and self.case.evidence else None),
            "gold_prompt_positions": [i for i, t in enumerate(self.prompt_passages, 1)
                                      if self.case.evidence and holds_evidence(t, self.case.evidence)],
            "citations": [{"n": c.n, "title": c.title, "published": c.published, "holds_gold":
                           holds_evidence(c.text, self.case.evidence) if self.case.evidence else None,
                           "quotes": [c.text[x:y] for x, y in c.quotes], "text": c.text} for c in a.citations],
            "prompt_tokens": self.prompt_tokens, "prompt_tokens_by": self.token_source,
            "timings_ms": {k: round(v) for k, v in a.timings_ms.items()},
            "llm_ms": [{"first_piece": round((c.first_piece - c.started) * 1000) if c.first_piece else None,
                        "total": round((c.ended - c.started) * 1000) if c.ended else None} for c in self.calls],
        }


def summarize(rows: list[Row]) -> dict[str, Any]:
    n = len(rows)
    verdicts = Counter(r.verdict for r in rows)
    answered = [r for r in rows if not r.refused and not r.llm_failed]
    cited = [(c, r) for r in answered if r.case.evidence for c in r.answer.citations]
    sentences = [sentences_cited(r.answer.text, len(r.answer.citations)) for r in answered]
    ttft = [v for r in rows if (v := r.ms("first_token")) is not None]
    total = [r.answer.timings_ms["total"] for r in rows if "total" in r.answer.timings_ms]
    generated = [r.answer.timings_ms["total"] for r in rows if r.calls]
    return {
        "questions": n,
        "correct": verdicts["correct"], "wrong": verdicts["wrong"], "refused": verdicts["refused"],
        "refusals": sum(r.refused for r in rows),
        "score": (verdicts["correct"] - verdicts["wrong"]) / n if n else None,
        "refused_before_call": sum(refused_before_call(r.answer) for r in rows),
        "refused_by_model": sum(r.refused and bool(r.calls) for r in rows),
        "llm_failed": sum(r.llm_failed for r in rows),
        "citation_precision": (sum(holds_evidence(c.text, r.case.evidence) for c, r in cited) / len(cited)
                               if cited else None),
        "citation_recall": (sum(s[1] for s in sentences) / sum(s[0] for s in sentences)
                            if sum(s[0] for s in sentences) else None),
        "answers_without_citation": sum(1 for r in answered if not r.answer.citations),
        "refused_by_model_with_gold_in_prompt": sum(
            1 for r in rows if r.refused and r.calls and r.case.evidence
            and any(holds_evidence(t, r.case.evidence) for t in r.prompt_passages)),
        "citations_without_quote": sum(1 for r in answered for c in r.answer.citations if not c.quotes),
        "markers_dropped": sum(r.dropped for r in rows),
        "markers_dropped_per_notice": sum(r.dropped_in_notice for r in rows),
        "unparsed_in_answers": dict(sum((r.unparsed for r in rows), Counter())),
        "ttft_ms_p50": statistics.median(ttft) if ttft else None,
        "total_ms_p50": statistics.median(total) if total else None,
        "total_ms_p50_llm_called": statistics.median(generated) if generated else None,
        "raw_marker_styles": dict(sum((raw_styles(r.raw) for r in rows if r.calls), Counter())),
        "full_stop_then_marker": sum(1 for r in rows if r.calls and FULL_STOP_THEN_MARKER.search(r.raw)),
    }


# --- running ------------------------------------------------------------------------------------------------------


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def stratified(rows: list[dict[str, Any]], limit: int, seed: int) -> list[dict[str, Any]]:
    """``limit`` questions, the same for the same seed: months (of ``asked_on``) taken in turn, each shuffled, so
    every period of the file is represented."""
    if not limit or limit >= len(rows):
        return rows
    rng = random.Random(seed)
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_month[str(row.get("asked_on", ""))[:7]].append(row)
    months = sorted(by_month)
    rng.shuffle(months)
    for month in months:
        rng.shuffle(by_month[month])
    picked: list[dict[str, Any]] = []
    while len(picked) < limit:
        for month in months:
            if by_month[month] and len(picked) < limit:
                picked.append(by_month[month].pop())
    return picked


def dev_cases(bench: Path, limit: int, seed: int) -> list[Case] | None:
    questions = bench / DEV / "questions.jsonl"
    if not questions.is_file() or not (bench / DEV / "articles.jsonl").is_file():
        return None
    rows = [json.loads(line) for line in questions.open(encoding="utf-8") if line.strip()]
    return [Case(r["question"], str(r["answer"]), tuple(r.get("evidence") or ()),
                 date.fromisoformat(r["asked_on"][:10]) if r.get("asked_on") else None)
            for r in stratified(rows, limit, seed)]


def indexed_assistant(settings: Settings, sources: list[Path], embedder: Any) -> Assistant:
    started = time.perf_counter()
    indexer = Indexer(settings, embedder=embedder)
    report = indexer.sync(sources)
    print(f"indexed {', '.join(s.name for s in sources)} into {settings.home}: {report.summary()} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return Assistant(settings, store=indexer.store, embedder=embedder)


def run(assistant: Assistant, cases: list[Case], tokens: PromptTokens, out: Any,
        progress: Callable[[Row], None]) -> list[Row]:
    recorder = Recorder(assistant)
    clock = assistant.today
    rows = []
    for case in cases:
        assistant.today = clock if case.today is None else (lambda day=case.today: day)
        try:
            answer = assistant.ask(case.question)
        finally:
            assistant.today = clock
        calls = recorder.take()
        counted = tokens.count(calls[-1].messages) if calls else (None, None)
        row = Row(case, answer, calls, *counted)
        out.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
        out.flush()
        rows.append(row)
        progress(row)
    return rows


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def print_row(row: Row) -> None:
    r = row.answer
    print(f"  {row.verdict:<8} {'pre' if refused_before_call(r) else ('LLM' if row.calls else '-'):<4} "
          f"tok {row.prompt_tokens if row.prompt_tokens is not None else '-':>5}  "
          f"1st {seconds(row.ms('first_token')):>5} s  total {seconds(r.timings_ms.get('total')):>5} s  "
          f"{row.case.question[:70]}", flush=True)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.0%}"

    head = (f"{'set':<7} {'n':>3} {'corr':>5} {'wrong':>5} {'ref':>4} {'score':>6} {'pre':>4} {'prec':>5} "
            f"{'recall':>6} {'drop':>4} {'ttft s':>6} {'total s':>7} {'llm s':>6}")
    print("\n" + head + "\n" + "-" * len(head))
    for name, s in results.items():
        score = "-" if s["score"] is None else f"{s['score']:+.2f}"
        print(f"{name:<7} {s['questions']:>3} {s['correct']:>5} {s['wrong']:>5} {s['refused']:>4} {score:>6} "
              f"{s['refused_before_call']:>4} {pct(s['citation_precision']):>5} {pct(s['citation_recall']):>6} "
              f"{s['markers_dropped']:>4} {seconds(s['ttft_ms_p50']):>6} {seconds(s['total_ms_p50']):>7} "
              f"{seconds(s['total_ms_p50_llm_called']):>6}")
    print("ref = refused with a gold answer; pre = refused before the LLM call; prec / recall = citation precision / "
          "answer sentences cited; drop = markers dropped; ttft = first_token lap (p50); total p50 of all questions "
          "and (llm s) of those that called the LLM")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder holding realtimeqa-dev/")
    parser.add_argument("--home", type=Path, help="data home for the dev index, kept between runs")
    parser.add_argument("--limit", type=int, default=40, help="dev questions (0: all 1,027)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--sets", default="dev,sample", help="which sets to run, comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm_eval.answers.jsonl",
                        help="raw answers, one JSON a line")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds per LLM call (a 2-core CPU model needs minutes for a long prompt)")
    parser.add_argument("--retries", type=int, default=0, help="LLM retries (a retry redoes the whole prompt)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback OPENAI_BASE_URL")
    args = parser.parse_args(argv)
    sets = {s.strip() for s in args.sets.split(",") if s.strip()}

    probe = load_settings()
    if not probe.llm_enabled:
        print("skipped: no LLM configured: set OPENAI_BASE_URL, OPENAI_API_KEY and/or NEWSDESK_LLM_MODEL "
              "(scripts/llm_server.sh starts a local one and prints them)")
        return 0
    if not is_loopback(probe.openai_base_url) and not args.allow_remote:
        print(f"refusing a non-loopback endpoint ({probe.openai_base_url or 'OpenAI'}): pass --allow-remote")
        return 2
    overrides = {"llm_timeout": args.timeout, "llm_retries": args.retries}
    tokens = PromptTokens(probe.openai_base_url)

    results: dict[str, dict[str, Any]] = {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsdesk-llm-eval-") as tmp, args.out.open("w", encoding="utf-8") as out:
        embedder = make_embedder(probe)
        if "dev" in sets:
            cases = dev_cases(args.bench, args.limit, args.seed)
            if cases is None:
                print(f"dev set skipped: no {args.bench / DEV} (bench data lives in ../shared/bench beside the repo)")
            else:
                home = args.home or Path(tmp) / "dev"
                home.mkdir(parents=True, exist_ok=True)
                write_corpus(args.bench / DEV / "articles.jsonl", home / f"{DEV}.jsonl")
                assistant = indexed_assistant(load_settings(home=home, **overrides), [home / f"{DEV}.jsonl"],
                                              embedder)
                print(f"dev: {len(cases)} questions (seed {args.seed}) via {assistant.mode} at "
                      f"{assistant.llm.endpoint if assistant.llm else '-'}", flush=True)
                results["dev"] = summarize(run(assistant, cases, tokens, out, print_row))
        if "sample" in sets:
            assistant = indexed_assistant(load_settings(home=Path(tmp) / "sample", **overrides), [SAMPLE], embedder)
            cases = [Case(c.question, c.gold, c.evidence, SAMPLE_TODAY, "sample") for c in SAMPLE_CASES]
            print(f"sample: {len(cases)} questions via {assistant.mode}", flush=True)
            results["sample"] = summarize(run(assistant, cases, tokens, out, print_row))

    print_table(results)
    for name, s in results.items():
        styles = ", ".join(f"{k} x{v}" for k, v in sorted(s["raw_marker_styles"].items(), key=lambda kv: -kv[1]))
        print(f"{name}: raw marker styles: {styles or 'none'}; 'Fact. [n]' replies: {s['full_stop_then_marker']}; "
              f"refused by the model: {s['refused_by_model']} "
              f"({s['refused_by_model_with_gold_in_prompt']} with the gold evidence in the prompt); "
              f"citations with no highlighted quote: {s['citations_without_quote']}; LLM failures: {s['llm_failed']}; "
              f"answers citing nothing: {s['answers_without_citation']}; citation-like text left unparsed in answers: "
              f"{s['unparsed_in_answers'] or 'none'}")
    print(f"raw answers: {args.out}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"model": probe.llm_model, "endpoint": probe.openai_base_url, "limit": args.limit,
                   "seed": args.seed, "timeout": args.timeout, "retries": args.retries, "results": results}
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"summary: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
