"""How well each sentence answers the question: keywords first, then MiniLM similarity for the best candidates.

Each kind of evidence fails alone: keywords (a BM25-style weighted term coverage, with names, numbers and rare words
weighing most, counting the sentence before too) miss paraphrases, and MiniLM similarity cannot tell a related
sentence from an answering one. Only the best ``MAX_CANDIDATES`` sentences are embedded, long ones clause by clause
(MiniLM on two cores manages about a hundred short sentences a second). The weights below are tuned with
bench/refusal_eval.py (``--candidates`` and ``--pieces`` override the two budgets).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from assistant.answer.kind import answer_type, counted_noun, gives_kind, number_next_to
from assistant.answer.sentences import Sentence, has, is_instruction, low_content, matched, tokenise
from assistant.terms import Term
from assistant.types import Passage
from index.pipeline.embedding import Embedder

MAX_CANDIDATES = 10
"""Sentences embedded per question: the latency budget (bench/refusal_eval.py reports extract_ms with it)..."""
MAX_PIECES = 14
"""...and texts embedded, a long sentence counting once per clause (``clauses``)."""
CLAUSE_WORDS = 20
"""A sentence longer than this (plus a few words) is embedded clause by clause."""

LEXICAL = 0.5
"""Relevance = LEXICAL * keyword score + (1 - LEXICAL) * similarity + the answer adjustment."""
CONTEXT_SHARE = 0.75
"""Keywords found only in the sentence before count this much."""
DATE_WEIGHT = 0.3
"""Share of a date term's weight inside sentences: there dates mostly match bylines; the verdict checks them
against the publication date too."""
LONG_SENTENCE_STEMS = 25
LONG_SENTENCE_PENALTY = 0.1
"""The keyword score is divided by 1 + this for every further ``LONG_SENTENCE_STEMS`` stems past the first."""
RETRIEVAL_PRIOR = 0.25
"""Bonus of a sentence from the best-retrieved passage (falling to 0 for the last) when picking the candidates to
embed, so paraphrases without the question's keywords get a chance."""

# The answer adjustment: what makes a sentence a better or worse answer whatever its words.
OFF_TOPIC_PENALTY = 0.3
"""Per unit of the question's salient weight the sentence's article lacks."""
FRAGMENT_PENALTY = 0.15
"""A sentence cut by the chunk boundary (the neighbouring chunk usually holds it whole)."""
INSTRUCTION_PENALTY = 0.6
"""Text addressing a model ("ignore previous instructions")."""
LOW_CONTENT_PENALTY = 0.3
"""Bylines, tweet attributions and link lines."""
WRONG_KIND_PENALTY = 0.5
"""A sentence without the kind of answer asked for (a number for "how many", a time for "when")..."""
NO_SPEECH_PENALTY = 0.15
"""...smaller for "what did X say": a statement is often reported without a speech verb."""
COUNTED_NUMBER_BONUS = 0.2
"""A number right before the thing a "how many" question counts ("about 100 missiles")."""


def best_by_prior(sentences: Sequence[Sentence], n_passages: int, n: int = MAX_CANDIDATES) -> list[Sentence]:
    """The ``n`` sentences worth looking at closely, by ``prior`` (keyword scores must be set)."""
    return sorted(sentences, key=lambda s: prior(s, n_passages), reverse=True)[:n]


def score_keywords(question: str, terms: list[Term], sentences: list[Sentence], passages: Sequence[Passage],
                   coverage: dict[str, tuple[float, list[str]]]) -> None:
    """Sets every sentence's tokens, keyword score and adjustment: the cheap part, before any embedding."""
    tokenise(sentences)
    keyword_scores(terms, sentences)
    adjust(question, terms, sentences, passages, coverage)


def score_candidates(question: str, candidates: list[Sentence], embedder: Embedder,
                     max_pieces: int | None = None) -> tuple[list[Sentence], np.ndarray]:
    """Embeds the candidates that fit ``max_pieces`` and sets their similarity and relevance; returns them with
    their vectors."""
    candidates, rows, similarity = embed_candidates(question, candidates, embedder, max_pieces)
    for s, dense in zip(candidates, similarity):
        s.dense = float(dense)
        s.relevance = LEXICAL * s.lexical + (1 - LEXICAL) * s.dense + s.adjustment
    return candidates, rows


def keyword_scores(terms: list[Term], sentences: list[Sentence]) -> None:
    """Sets each sentence's ``lexical``: the idf-weighted share of the question's terms it (or, for
    ``CONTEXT_SHARE`` of the weight, it and the sentence before) contains."""
    idf = _idf(terms, sentences)
    weights = {t.stem: t.weight * idf[t.stem] * (DATE_WEIGHT if t.kind == "date" else 1.0) for t in terms}
    by_place = {(s.passage, s.order): s for s in sentences}
    for s in sentences:
        own = _coverage(terms, weights, matched(terms, [s]))
        # News sentences lean on the one before ("The barrage ... involved about 100 missiles" after "the attack
        # on Kiev"): terms found there count, a little less.
        window = _coverage(terms, weights, matched(terms, [s, by_place.get((s.passage, s.order - 1))]))
        length = 1 + LONG_SENTENCE_PENALTY * max(0, len(s.stems) - LONG_SENTENCE_STEMS) / LONG_SENTENCE_STEMS
        s.lexical = max(own, CONTEXT_SHARE * window) / length


def _idf(terms: list[Term], sentences: list[Sentence]) -> dict[str, float]:
    n = max(1, len(sentences))
    out = {}
    for term in terms:
        df = sum(1 for s in sentences if has(s, term))
        out[term.stem] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def _coverage(terms: list[Term], weights: dict[str, float], present: frozenset[str] | set[str]) -> float:
    total = sum(weights.values()) or 1.0
    return sum(weights[t.stem] for t in terms if t.stem in present) / total


def adjust(question: str, terms: list[Term], sentences: list[Sentence], passages: Sequence[Passage],
           coverage: dict[str, tuple[float, list[str]]]) -> None:
    """Sets each sentence's ``adjustment``: the kind of answer asked for, the article being about the question's
    names and dates, being prose and not an instruction to a model."""
    kind, speaker = answer_type(question)
    noun = counted_noun(question) if kind == "number" else None
    for s in sentences:
        own = coverage[passages[s.passage].article_id][0]
        value = -(OFF_TOPIC_PENALTY * (1 - own) + FRAGMENT_PENALTY * s.fragment
                  + INSTRUCTION_PENALTY * is_instruction(s) + LOW_CONTENT_PENALTY * low_content(s.text))
        if kind != "any" and not gives_kind(kind, speaker, [s], terms):
            value -= NO_SPEECH_PENALTY if kind == "speech" else WRONG_KIND_PENALTY
        elif noun and number_next_to(s, noun):
            value += COUNTED_NUMBER_BONUS
        s.adjustment = value


def prior(s: Sentence, n_passages: int) -> float:
    """Rank of a sentence before embedding: keywords, the passage's retrieval rank, the adjustment."""
    return s.lexical + RETRIEVAL_PRIOR * (1 - s.passage / max(1, n_passages)) + s.adjustment


def embed_candidates(question: str, candidates: list[Sentence], embedder: Embedder,
                     max_pieces: int | None = None) -> tuple[list[Sentence], np.ndarray, np.ndarray]:
    """The candidates that fit ``max_pieces`` (default ``MAX_PIECES``), their unit vectors, and each one's best
    clause-to-question similarity.

    A long sentence is embedded clause by clause: MiniLM's similarity fades with length, so the clause that answers
    ("which the Air Force said involved about 100 missiles") would drown in the rest of the sentence."""
    budget = MAX_PIECES if max_pieces is None else max_pieces
    owners: list[int] = []
    texts: list[str] = []
    for i, s in enumerate(candidates):
        pieces = clauses(s.text)
        if texts and len(texts) + len(pieces) > budget:
            candidates = candidates[:i]
            break
        owners.extend([i] * len(pieces))
        texts.extend(pieces)
    vectors = embedder.embed([question] + texts)
    q = vectors[0]
    rows = np.zeros((len(candidates), vectors.shape[1]), dtype=np.float32)
    best = np.full(len(candidates), -1.0)
    for owner, row in zip(owners, vectors[1:]):
        best[owner] = max(best[owner], float(np.dot(q, row)))
        rows[owner] += row
    rows /= np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)
    return candidates, rows, best


def clauses(text: str, longest: int = CLAUSE_WORDS) -> list[str]:
    """A sentence cut at commas, dashes and the like into pieces of at most ``longest`` words (if it is longer)."""
    if len(text.split()) <= longest + 4:
        return [text]
    parts = [p.strip() for p in re.split(r"(?<=[,;:])\s+|\s+[—–]\s+|\s+(?=\()", text) if p.strip()]
    pieces: list[str] = []
    current = ""
    for part in parts:
        if current and len((current + " " + part).split()) > longest:
            pieces.append(current)
            current = part
        else:
            current = f"{current} {part}".strip()
    if current:
        if pieces and len(current.split()) < 5:
            pieces[-1] += " " + current
        else:
            pieces.append(current)
    return pieces
