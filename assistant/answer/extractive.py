"""The offline answer, step by step: sentences -> scores -> selection -> verdict -> the composed, cited text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.compose import compose
from assistant.answer.scoring import score_sentences
from assistant.answer.selection import select
from assistant.answer.sentences import Unit, passage_sentences, unit_of
from assistant.answer.verdict import Verdict, judge, salient_coverage
from assistant.terms import question_terms
from assistant.types import Citation, Passage
from index.pipeline.embedding import Embedder


@dataclass
class Extract:
    question: str
    passages: list[Passage]
    units: list[Unit]
    verdict: Verdict
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    """The answer text in streamable pieces (one per sentence); they concatenate to ``text``."""

    @property
    def used_passages(self) -> list[int]:
        """Passages the answer cites, best first."""
        return list(dict.fromkeys(u.passage for u in self.units))


def extract(question: str, passages: Sequence[Passage], embedder: Embedder, dates_filtered: bool = False) -> Extract:
    """The extractive answer and the verdict on whether the passages answer the question at all.

    ``dates_filtered``: retrieval was restricted to a date range, so the question's dates ("between 9 and 15
    December") are already enforced and need not appear in the evidence.
    """
    passages = list(passages)
    terms = question_terms(question)
    if dates_filtered:
        terms = [t for t in terms if t.kind != "date"]
    sentences = passage_sentences(passages)
    if not sentences:
        return Extract(question, passages, [], Verdict(False, "no passages"))
    coverage = {article: salient_coverage(terms, passages, article)
                for article in dict.fromkeys(p.article_id for p in passages)}
    candidates, vectors = score_sentences(question, terms, sentences, passages, embedder, coverage)
    picked = select(terms, candidates, vectors)
    verdict, kept = judge(question, terms, passages, sentences, candidates, picked, coverage)
    units = [unit_of(candidates[i], sentences, terms) for i in kept]
    if not verdict.answerable:
        return Extract(question, passages, units, verdict)
    shown = compose(units, passages)
    return Extract(question, passages, shown.units, verdict, shown.text, shown.citations, shown.pieces)
