"""Whether the picked sentences answer the question at all, from the same evidence that picked them.

A picked sentence counts only if its article contains enough of the question's salient terms (names, numbers,
dates, rare words); one of those must be close to the question; and a question asking "how many", "when" or "what
did X say" needs a number, a time or a statement in what the answer shows. The thresholds are tuned with
bench/refusal_eval.py (``--tune`` replays recorded evidence against other thresholds in seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.kind import answer_type, gives_kind
from assistant.answer.reader import NAMED, Answers
from assistant.answer.sentences import Sentence, unit_of
from assistant.terms import Term, Vocabulary, date_words
from assistant.types import Passage

# Calibrated with bench/refusal_eval.py on the sample articles and the dev set.
MIN_SALIENT_COVERAGE = 0.25
"""Share of the question's salient weight (names, numbers, dates, rare words) a sentence's article must contain."""
MIN_SUPPORT = 0.35
"""Minimum of 0.5 * keyword score (sentence or its window) + 0.5 * similarity, for the best shown sentence."""
MIN_SIMILARITY = 0.45
"""Best sentence-to-question similarity (the int8 MiniLM scores run high: unrelated sentences often reach 0.6)..."""
STRONG_SUPPORT = 0.65
"""...unless the support is this high: every keyword of the question, in a sentence MiniLM finds only fairly close
("The northeastern Kharkiv region was also targeted": 0.40 to "Which cities were hit besides Kyiv?")."""


@dataclass
class Evidence:
    """One picked sentence as evidence: its article's salient coverage, closeness, and the kind of answer."""

    coverage: float
    missing: list[str]
    support: float
    similarity: float
    kind_met: bool
    lexical: float = 0.0
    relevance: float = 0.0


@dataclass
class Verdict:
    answerable: bool
    reason: str
    salient_coverage: float = 1.0
    support: float = 0.0
    similarity: float = 0.0
    missing: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    """What was measured for each picked sentence (bench/refusal_eval.py tunes the thresholds on it)."""


@dataclass(frozen=True)
class Thresholds:
    salient_coverage: float = MIN_SALIENT_COVERAGE
    support: float = MIN_SUPPORT
    similarity: float = MIN_SIMILARITY


def salient_coverage(terms: list[Term], passages: Sequence[Passage], article_id: str) -> tuple[float, list[str]]:
    """Share of the question's salient weight an article's retrieved text (with title and date) contains, and the
    salient words it lacks."""
    evidence = " ".join(p.title + " " + p.source + " " + date_words(p.published) + " " + p.text
                        for p in passages if p.article_id == article_id)
    vocab = Vocabulary(evidence)
    salient = [t for t in terms if t.salient]
    missing = [t for t in salient if not vocab.covers(t)]
    if not salient:
        return 1.0, []
    return 1.0 - sum(t.weight for t in missing) / sum(t.weight for t in salient), [t.word for t in missing]


def judge(question: str, terms: list[Term], passages: Sequence[Passage], sentences: list[Sentence],
          candidates: list[Sentence], picked: list[int], coverage: dict[str, tuple[float, list[str]]],
          answers: Answers | None = None) -> tuple[Verdict, list[int]]:
    """Whether the picked sentences answer the question, and which of them to show.

    "How many people died in the Oreshnik attack on Dnipro?" must not be answered by a death toll from an article
    about another strike: the article must hold the question's salient terms."""
    kind, speaker = answer_type(question)
    evidence = []
    for i in picked:
        s = candidates[i]
        cov, missing = coverage[passages[s.passage].article_id]
        # The kind of answer asked for must be in what the answer shows, not merely next to it.
        shown = unit_of(s, sentences, terms).sentences
        kind_met = gives_kind(kind, speaker, shown, terms) and (answers is None or answers.holds(shown))
        # the unit shown is the evidence: "the SBU claimed responsibility for the killing" answers "Who killed
        # Kirillov?" through the sentence before it, which names him
        best = max(shown, key=lambda t: 0.5 * t.lexical + 0.5 * t.dense)
        evidence.append(Evidence(cov, missing, 0.5 * best.lexical + 0.5 * best.dense, max(t.dense for t in shown),
                                 kind_met, s.lexical, s.relevance))
    wanted = answers.wanted if answers is not None else None
    verdict, kept = decide(evidence, wanted or kind)
    return verdict, [picked[i] for i in kept]


def decide(evidence: Sequence[Evidence], kind: str, limits: Thresholds = Thresholds()) -> tuple[Verdict, list[int]]:
    """The verdict from measured evidence, and which picked sentences may be shown (those from articles that
    contain the question's salient terms). ``kind``: what the question asks for (``answer_type``'s, or the kind of
    name ``reader`` looked for), which ``kind_met`` checked."""
    if not evidence:
        return Verdict(False, "no passages"), []
    kept = [i for i, e in enumerate(evidence) if e.coverage >= limits.salient_coverage]
    if kind in NAMED and any(evidence[i].kind_met for i in kept):
        # only sentences holding a name of the kind asked for answer "which member ...?": another sentence about
        # the same vote would wrap a name from elsewhere in a relevant-looking answer
        kept = [i for i in kept if evidence[i].kind_met]
    lead = evidence[kept[0]] if kept else evidence[0]
    verdict = Verdict(True, "answered", lead.coverage, max((evidence[i].support for i in kept), default=0.0),
                      max((evidence[i].similarity for i in kept), default=-1.0), lead.missing, list(evidence))
    if not kept:
        verdict.answerable, verdict.reason = False, "the articles do not mention " + ", ".join(lead.missing)
    elif verdict.similarity < limits.similarity and verdict.support < STRONG_SUPPORT \
            or verdict.support < limits.support:
        verdict.answerable, verdict.reason = False, "no sentence is close enough to the question"
    elif not any(evidence[i].kind_met for i in kept):
        verdict.answerable, verdict.reason = False, f"no sentence gives the {kind} asked for"
    return verdict, kept
