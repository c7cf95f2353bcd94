"""Which candidate sentences make the answer: maximal marginal relevance, plus a bonus for question terms the
picked sentences do not cover yet, so each part of a multi-part question gets its sentence."""

from __future__ import annotations

import math

import numpy as np

from assistant.answer.sentences import Sentence, matched
from assistant.terms import Term

MAX_SENTENCES = 3
"""Answer sentences (not counting a context sentence kept for a pronoun): short answers."""
MMR_REDUNDANCY = 0.6
"""Penalty per unit of similarity to a picked sentence above ``REDUNDANCY_FLOOR``."""
REDUNDANCY_FLOOR = 0.5
DUPLICATE = 0.9
"""A sentence this similar to a picked one says the same thing: the answer stops there."""
COVERAGE_BONUS = 0.25
"""Bonus per unit of the question's term weight a sentence adds to the answer."""
KEEP_FRACTION = 0.75
"""A further sentence joins the answer only when its relevance is at least this share of the best one's..."""
CLOSE_FRACTION = 0.92
"""...and, unless it is nearly as good as the best, when it covers a question term the answer lacks."""


def select(terms: list[Term], candidates: list[Sentence], vectors: np.ndarray, limit: int = MAX_SENTENCES,
           articles: list[str] | None = None) -> list[int]:
    """Indexes into ``candidates`` of the answer's sentences, in the order they were picked. ``articles`` (each
    candidate's article) asks for one sentence per article: the question covers several ("both attacks")."""
    if not candidates:
        return []
    if articles is not None:
        picked = per_article(candidates, articles, limit)
        if len(picked) > 1:
            return picked  # else one article answers: its sentences are picked as usual, each part its own
    weights = {t.stem: t.weight for t in terms}
    total = sum(weights.values()) or 1.0
    picked: list[int] = []
    covered: set[str] = set()
    best = max(s.relevance for s in candidates)
    while len(picked) < limit:
        top, top_gain = -1, -math.inf
        for i, s in enumerate(candidates):
            if i in picked or s.relevance < KEEP_FRACTION * best and picked:
                continue
            new = sum(weights[t] for t in matched(terms, [s]) - covered) / total
            if picked and new == 0 and s.relevance < CLOSE_FRACTION * best:
                continue  # adds nothing the answer lacks: keep the answer short
            redundancy = redundancy_of(i, picked, vectors)
            gain = s.relevance - MMR_REDUNDANCY * max(0.0, redundancy - REDUNDANCY_FLOOR) + COVERAGE_BONUS * new
            if gain > top_gain:
                top, top_gain = i, gain
        if top < 0 or (picked and redundancy_of(top, picked, vectors) > DUPLICATE):
            break
        picked.append(top)
        covered |= matched(terms, [candidates[top]])
    return picked


def redundancy_of(i: int, picked: list[int], vectors: np.ndarray) -> float:
    """Highest similarity of candidate ``i`` to the picked ones."""
    return max((float(np.dot(vectors[i], vectors[j])) for j in picked), default=0.0)


SEVERAL_FRACTION = 0.5
"""For a question covering several articles, an article's best sentence joins when it is this good (at 0.6 the
December toll in "How many people died in the attacks?", at 0.52 of the best, was left out; the dev set's
`newsdesk eval` gained one correct answer from 0.6 to 0.5)."""


def per_article(candidates: list[Sentence], articles: list[str], limit: int) -> list[int]:
    """The best sentence of each article, best first, while it stays near the best one's relevance."""
    best = max(s.relevance for s in candidates)
    picked: dict[str, int] = {}
    for i in sorted(range(len(candidates)), key=lambda i: -candidates[i].relevance):
        if len(picked) == limit or candidates[i].relevance < SEVERAL_FRACTION * best:
            break
        picked.setdefault(articles[i], i)
    return list(picked.values())
