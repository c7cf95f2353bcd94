"""The offline answer, step by step: sentences -> scores -> selection -> verdict -> the composed, cited text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.compose import compose
from assistant.answer.conflicts import find_conflicts, gives_figure
from assistant.answer.kind import answer_type
from assistant.answer.reader import NAME_POOL, favour_answers, find_answers, without_excluded
from assistant.answer.scoring import MAX_CANDIDATES, best_by_prior, score_candidates, score_keywords
from assistant.answer.selection import select
from assistant.answer.sentences import Sentence, Unit, passage_sentences, unit_of
from assistant.answer.verdict import Verdict, judge, salient_coverage
from assistant.terms import Term, question_terms
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
    closeness: float | None = None
    """The best sentence-to-question similarity among the passages, whatever they answer: the LLM-mode gate
    (``gate``) reads it; ``None`` where the verdict alone says whether anything relevant was found (timelines)."""

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
    terms = without_excluded(question, question_terms(question))
    if dates_filtered:
        terms = [t for t in terms if t.kind != "date"]
    sentences = passage_sentences(passages)
    if not sentences:
        return Extract(question, passages, [], Verdict(False, "no passages"))
    coverage = {article: salient_coverage(terms, passages, article)
                for article in dict.fromkeys(p.article_id for p in passages)}
    score_keywords(question, terms, sentences, passages, coverage)
    # names of the kind asked for are looked for beyond the candidates: "Which Ukrainian cities were targeted
    # besides Kyiv?" is answered by "The northeastern Kharkiv region was also targeted", ranked low by keywords
    answers = find_answers(question, best_by_prior(sentences, len(passages), NAME_POOL))
    favour_answers(sentences, answers)
    pool = best_by_prior(sentences, len(passages))
    if answers.several:
        pool = with_each_articles_best(pool, sentences, passages)
    candidates, vectors = score_candidates(question, pool, embedder)
    articles = [passages[s.passage].article_id for s in candidates]
    picked = select(terms, candidates, vectors, articles=articles if answers.several else None)
    verdict, kept = judge(question, terms, passages, sentences, candidates, picked, coverage, answers)
    closeness = max((s.dense for s in candidates), default=-1.0)
    units = [unit_of(candidates[i], sentences, terms) for i in kept]
    if not verdict.answerable:
        return Extract(question, passages, units, verdict, closeness=closeness)
    if answer_type(question)[0] == "number":
        units = with_disagreeing(units, candidates, sentences, passages, terms)
    shown = compose(units, passages)
    lead = answers.lead(shown.units)
    pieces = [f"{lead} — ", *shown.pieces] if lead else shown.pieces
    return Extract(question, passages, shown.units, verdict, "".join(pieces), shown.citations, pieces, closeness)


def with_each_articles_best(pool: list[Sentence], sentences: list[Sentence],
                            passages: Sequence[Passage]) -> list[Sentence]:
    """The candidates with each article's best sentence among them (up to half of them): "How many people died in
    the attacks?" is answered one article at a time, and the keyword ranking may favour one article throughout."""
    extra = []
    for article in dict.fromkeys(p.article_id for p in passages):
        own = best_by_prior([s for s in sentences if passages[s.passage].article_id == article], len(passages), 1)
        if own and all(own[0] is not s for s in pool):
            extra.append(own[0])
    extra = extra[:MAX_CANDIDATES // 2]
    return pool[:MAX_CANDIDATES - len(extra)] + extra


def with_disagreeing(units: list[Unit], candidates: list[Sentence], sentences: list[Sentence],
                     passages: Sequence[Passage], terms: Sequence[Term]) -> list[Unit]:
    """A "how many" answer plus, of each other article, the best candidate giving a figure when it differs from
    the answer's for the same thing (``conflicts``): the answer then says the articles disagree, citing both,
    instead of showing one outlet's toll as the fact."""
    shown = {passages[u.passage].article_id for u in units}
    extra: dict[str, Unit] = {}
    for s in sorted(candidates, key=lambda s: -s.relevance):
        article = passages[s.passage].article_id
        if article not in shown and article not in extra and gives_figure(s.text):
            extra[article] = unit_of(s, sentences, terms)
    if not extra:
        return units
    trial = compose(units + list(extra.values()), passages)
    disputed = {n for c in find_conflicts(trial.citations) for _, numbers in c.values for n in numbers}
    cited = {c.article_id for c in trial.citations if c.n in disputed}
    return units + [u for article, u in extra.items() if article in cited]
