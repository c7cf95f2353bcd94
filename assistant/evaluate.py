"""``newsdesk eval``: retrieval and answer quality of the current index on a question file.

Evidence is matched by the rule of the MultiHop-RAG benchmark: strip all whitespace from a retrieved passage and
from each gold evidence string; the passage is a hit when it contains one. Answers are scored CRAG-style: correct
when not refused and the gold answer is contained (case-, punctuation- and whitespace-insensitive, on word
boundaries, so "100" is not found in "1000"), wrong when not refused otherwise, refused; score = (correct - wrong) /
answered questions, since a wrong answer costs as much as a right one earns. A question's ``asked_on`` pins
"today" for it, so "this week" means the week it was asked. It works on any index: nothing here knows how the
questions were made.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.kind import answer_type, wanted_entity
from assistant.assistant import Assistant
from index.sources.markup import plain_text

_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")
TIME_WORDS = re.compile(
    r"\b(?:today|yesterday|tomorrow|tonight|this|last|next|past|recent(?:ly)?|latest|ago|week|weekend|month|year|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|(?:19|20)\d{2})\b", re.IGNORECASE)
"""Words that tie a question to a time: its subset is reported apart, since dates are where answers go wrong."""
EVIDENCE_DEPTH = 8
"""Passages an answer reads (``Settings.top_k``): gold evidence this deep counts as retrieved for the answer."""


@dataclass(frozen=True)
class Question:
    question: str
    answer: str | None
    evidence: tuple[str, ...]
    asked_on: date | None = None

    @property
    def has_time_words(self) -> bool:
        return bool(TIME_WORDS.search(self.question))


@dataclass
class Outcomes:
    """Correct / wrong / refused answers of a set of questions with gold answers (CRAG-style)."""

    questions: int = 0
    correct: int = 0
    wrong: int = 0
    refused: int = 0

    def add(self, refused: bool, correct: bool) -> None:
        self.questions += 1
        if refused:
            self.refused += 1
        elif correct:
            self.correct += 1
        else:
            self.wrong += 1

    @property
    def score(self) -> float | None:
        return (self.correct - self.wrong) / self.questions if self.questions else None

    def to_json(self) -> dict[str, Any]:
        def share(n: int) -> float | None:
            return n / self.questions if self.questions else None

        return {"questions": self.questions, "correct": share(self.correct), "wrong": share(self.wrong),
                "refused": share(self.refused), "score": self.score}

    def render(self) -> str:
        if not self.questions:
            return "n/a"
        return (f"correct {self.correct / self.questions:.1%}  wrong {self.wrong / self.questions:.1%}  "
                f"refused {self.refused / self.questions:.1%}  score {self.score:+.3f}  ({self.questions} questions)")


@dataclass
class EvalReport:
    questions: int = 0
    with_evidence: int = 0
    hits_at: dict[int, float] = field(default_factory=dict)
    mrr_at_10: float | None = None
    with_answer: int = 0
    answer_contains_gold: float | None = None
    refusal_rate: float | None = None
    outcomes: Outcomes = field(default_factory=Outcomes)
    time_outcomes: Outcomes = field(default_factory=Outcomes)
    """The same for questions with time words (``TIME_WORDS``)."""
    evidence_retrieved: int = 0
    """Answered questions whose gold evidence was in the top ``EVIDENCE_DEPTH`` passages."""
    refused_with_evidence: int = 0
    """Of those, the ones refused: what the answer layer threw away."""
    by_kind: dict[str, Outcomes] = field(default_factory=dict)
    """Outcomes by what the question asks for: a kind of name (``person``, ``place``...), a number, a time, or
    ``open``."""
    citations: int = 0
    citations_with_evidence: int = 0
    """Citations (of answers to questions with gold evidence) whose passage holds it: citation precision."""
    search_ms: dict[str, float] = field(default_factory=dict)
    answer_ms: dict[str, float] = field(default_factory=dict)
    skipped_lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.3f}"

        lines = [f"questions: {self.questions} ({self.with_evidence} with evidence, {self.with_answer} with answers)"]
        if self.with_evidence:
            hits = "  ".join(f"Hits@{k} {pct(v)}" for k, v in sorted(self.hits_at.items()))
            lines.append(f"retrieval: {hits}  MRR@10 {pct(self.mrr_at_10)}")
        if self.outcomes.questions:
            lines.append(f"answers:   {self.outcomes.render()}")
            lines.append(f"  with time words: {self.time_outcomes.render()}")
            if self.evidence_retrieved:
                lines.append(f"  refused although the gold evidence was retrieved: {self.refused_with_evidence} of "
                             f"{self.evidence_retrieved} ({self.refused_with_evidence / self.evidence_retrieved:.1%})")
            if self.citations:
                lines.append(f"  citations holding the gold evidence: {self.citations_with_evidence} of "
                             f"{self.citations} ({self.citations_with_evidence / self.citations:.1%})")
            for kind, outcomes in sorted(self.by_kind.items(), key=lambda item: -item[1].questions):
                lines.append(f"  {kind + ':':17s} {outcomes.render()}")
        elif self.refusal_rate is not None:
            lines.append(f"answers:   refused {pct(self.refusal_rate)}")
        for name, ms in (("search", self.search_ms), ("answer", self.answer_ms)):
            if ms:
                lines.append(f"latency:   {name} p50 {ms['p50']:.0f} ms  p95 {ms['p95']:.0f} ms")
        lines.extend(f"skipped:   {s}" for s in self.skipped_lines)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["hits_at"] = {str(k): v for k, v in self.hits_at.items()}
        data["outcomes"] = self.outcomes.to_json()
        data["time_outcomes"] = self.time_outcomes.to_json()
        data["by_kind"] = {kind: outcomes.to_json() for kind, outcomes in self.by_kind.items()}
        return data


def read_questions(path: Path) -> tuple[list[Question], list[str]]:
    questions: list[Question] = []
    skipped: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = str(row["question"]).strip()
            except (json.JSONDecodeError, KeyError, TypeError):
                skipped.append(f"line {lineno}: not a JSON object with a 'question'")
                continue
            evidence = row.get("evidence") or []
            if isinstance(evidence, str):
                evidence = [evidence]
            answer = row.get("answer")
            if isinstance(answer, list):
                answer = answer[0] if answer else None
            try:
                asked_on = date.fromisoformat(str(row["asked_on"])[:10]) if row.get("asked_on") else None
            except ValueError:
                skipped.append(f"line {lineno}: 'asked_on' is not a date (YYYY-MM-DD): {row['asked_on']!r}")
                continue
            questions.append(Question(text, str(answer) if answer not in (None, "") else None,
                                      tuple(str(e) for e in evidence if str(e).strip()), asked_on))
    return questions, skipped


def evidence_rank(passages: Iterable[str], evidence: tuple[str, ...]) -> int | None:
    """1-based rank of the first passage containing a gold evidence string (whitespace-stripped), else None.

    Gold evidence is read as the loader reads article text (HTML in it becomes plain text), or the 17% of dev
    questions whose evidence carries an ``<a href>`` could never be found in the stored passages."""
    gold = [_WS.sub("", plain_text(e)) for e in evidence]
    for rank, text in enumerate(passages, start=1):
        stripped = _WS.sub("", text)
        if any(g and g in stripped for g in gold):
            return rank
    return None


def contains_answer(answer_text: str, gold: str) -> bool:
    """Case- and punctuation-insensitive containment of the gold short answer."""
    norm_gold = " ".join(_NON_WORD.sub(" ", gold.lower()).split())
    norm_answer = " ".join(_NON_WORD.sub(" ", answer_text.lower()).split())
    return bool(norm_gold) and f" {norm_gold} " in f" {norm_answer} "


def evaluate(assistant: Assistant, questions: list[Question], k: int = 10, answers: bool = True,
             progress: Callable[[int], None] | None = None) -> EvalReport:
    report = EvalReport(questions=len(questions))
    cutoffs = sorted({1, 4, k})
    hit_counts = dict.fromkeys(cutoffs, 0)
    reciprocal = 0.0
    search_ms: list[float] = []
    answer_ms: list[float] = []
    contained = refused = 0
    clock = assistant.today
    for i, q in enumerate(questions):
        rank = None
        if q.evidence:
            started = time.perf_counter()
            passages = assistant.search(q.question, k=max(k, 10))
            search_ms.append((time.perf_counter() - started) * 1000)
            rank = evidence_rank((p.text for p in passages), q.evidence)
            report.with_evidence += 1
            for cutoff in cutoffs:
                hit_counts[cutoff] += int(rank is not None and rank <= cutoff)
            reciprocal += 1.0 / rank if rank is not None and rank <= 10 else 0.0
        if answers:
            asked_on = q.asked_on
            assistant.today = clock if asked_on is None else (lambda day=asked_on: day)
            started = time.perf_counter()
            try:
                answer = assistant.ask(q.question)
            finally:
                assistant.today = clock
            answer_ms.append((time.perf_counter() - started) * 1000)
            refused += int(answer.refused)
            if q.answer is not None:
                report.with_answer += 1
                correct = not answer.refused and contains_answer(answer.text, q.answer)
                contained += int(correct)
                report.outcomes.add(answer.refused, correct)
                if q.has_time_words:
                    report.time_outcomes.add(answer.refused, correct)
                report.by_kind.setdefault(question_kind(q.question), Outcomes()).add(answer.refused, correct)
                if q.evidence:
                    report.citations += len(answer.citations)
                    report.citations_with_evidence += sum(
                        evidence_rank([c.text], q.evidence) is not None for c in answer.citations)
                if rank is not None and rank <= EVIDENCE_DEPTH:
                    report.evidence_retrieved += 1
                    report.refused_with_evidence += int(answer.refused)
        if progress:
            progress(i + 1)
    if report.with_evidence:
        report.hits_at = {c: hit_counts[c] / report.with_evidence for c in cutoffs}
        report.mrr_at_10 = reciprocal / report.with_evidence
    if answers and questions:
        report.refusal_rate = refused / len(questions)
        if report.with_answer:
            report.answer_contains_gold = contained / report.with_answer
    report.search_ms = _percentiles(search_ms)
    report.answer_ms = _percentiles(answer_ms)
    return report


def question_kind(question: str) -> str:
    """What the question asks for, as the answer layer reads it: the kind of name, else a number or a time, else
    ``open``."""
    kind = answer_type(question)[0]
    return wanted_entity(question) or (kind if kind != "any" else "open")


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[94]}
