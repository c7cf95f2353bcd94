"""Timeline answers: "How has X developed?", "timeline of ...", "what happened since ..." want the story in the order
it happened, one line per article with its date, not the three best sentences.

The same evidence decides as for a prose answer (``scoring`` and ``verdict``), but per article: each article's best
sentence is found among its own candidates, and an article stays only when the verdict would answer from it alone
(or it holds every word of the topic, see ``_bears_on``), so an article that merely shares a name with the question
is left out. Lines are numbered and quoted by ``compose.cite``, exactly like prose answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from assistant.answer.compose import cite
from assistant.answer.extractive import Extract
from assistant.answer.scoring import MAX_PIECES, prior, score_candidates, score_keywords
from assistant.answer.selection import DUPLICATE
from assistant.answer.sentences import Sentence, Unit, is_instruction, low_content, passage_sentences, unit_of
from assistant.answer.verdict import Evidence, Thresholds, Verdict, decide, salient_coverage
from assistant.terms import Term, Vocabulary, question_terms
from assistant.text import stem, words
from assistant.types import Passage
from index.pipeline.embedding import Embedder

MAX_LINES = 10
"""Articles shown: the most relevant ones, then put in date order."""
CANDIDATES_PER_ARTICLE = 3
"""Sentences of each article embedded to find its best one..."""
PIECE_BUDGET = 3 * MAX_PIECES
"""...within this many embedded texts for the whole timeline (about three prose answers' worth)."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNDATED = "Undated"

_VERB = (r"(?:develop(?:ed|ing)?|evolv(?:e|ed|ing)|unfold(?:ed|ing)?|progress(?:ed|ing)?|chang(?:e|ed|ing)|"
         r"play(?:ed|ing)?\s+out|escalat(?:e|ed|ing)|grown|moved\s+on)")
_PAST = r"(?:developed|evolved|unfolded|progressed|played\s+out|escalated)"
_ENDS = (r"(?=\s*(?:$|[?.!,;]|(?:since|over|in|during|through|throughout|after|from|until|between|across|recently|"
         r"lately|so\s+far|to\s+date)\b))")
"""The verb closes the clause: "how did the strike unfold?", not "how did Putin change his mind"."""
_SPAN = r"(?:[\w'’.-]+\s+){1,12}?"
_CUES = [
    rf"\bhow\s+(?:has|have|had|did|does|do|is|are|was|were)\s+{_SPAN}{_VERB}{_ENDS}",
    rf"\bhow\s+{_SPAN}(?:(?:has|have|had)\s+(?:{_PAST}|changed)|{_PAST}){_ENDS}",
    r"\bwhat(?:'s|’s|\s+has|\s+have)?\s+(?:happened|changed|occurred|developed|been\s+happening|gone\s+on)\b"
    r".{0,120}?\b(?:since|so\s+far|to\s+date|over\s+(?:the\s+)?(?:past|last)\s+(?:\w+\s+)?(?:weeks|months|years))\b",
    r"\bwhat(?:'s|’s|\s+has|\s+have)\s+been\s+happening\b",
    r"\btime\s*lines?\b",
    r"\bchronolog(?:y|ies|ical|ically)\b",
    r"\b(?:sequence|chain|course|order)\s+of\s+events\b",
    r"(?<!\bin\s)(?<!\bin\sthe\s)\bhistory\s+of\b",
    r"\b(?:evolution|progression)\s+of\b",
    r"\bdevelopments\b",
    r"\bover\s+time\b",
    r"\bstory\s+so\s+far\b",
    r"\b(?:catch|bring)\s+me\s+up\b|\bup\s+to\s+speed\b",
    r"^\W*trace\b",
]
CUE = re.compile("|".join(f"(?:{c})" for c in _CUES), re.IGNORECASE)

_SHAPE_WORDS = re.compile(
    r"\b(?:(?:(?:brief|short|full|quick|key|main|major|latest|recent)\s+)?(?:time\s*lines?|chronolog\w*|history|"
    r"evolution|progression|developments?)|(?:sequence|chain|course|order)\s+of\s+events|story\s+so\s+far|so\s+far|"
    r"to\s+date|over\s+time|since\s+then|(?:over|in|during|within)\s+the\s+(?:past|last|previous)\s+(?:\w+\s+)?"
    r"(?:days|weeks|months|years)|up\s+to\s+speed|catch\s+me\s+up|bring\s+me\s+up|trace|"
    + _VERB + r"|been\s+happening|happened|occurred|gone\s+on)\b",
    re.IGNORECASE,
)
"""The words that ask for the shape of the answer, not its subject: dropped from the topic."""
_LEADING = re.compile(
    r"^(?:\W+|(?:how|what['’]s|what|give|show|tell|make|write|draw|provide|list|explain|describe|outline|summari[sz]e|"
    r"recap|walk|through|can|could|would|you|please|me|us|a|an|the|has|have|had|did|does|do|is|are|was|were|been|"
    r"of|on|for|about|with|to|in|at|around|regarding|concerning|since|up)\b)\s*",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"(?:\s+(?:of|on|for|about|with|to|in|at|since|over|the|and|up|has|have|had|did|does|do|is|are|"
                       r"was|were|been)\b|\W)+$", re.IGNORECASE)


def is_timeline(question: str) -> bool:
    """Whether the question asks how something unfolded over time (answered in date order) rather than for a fact."""
    return bool(CUE.search(" ".join(question.split())))


def timeline_topic(question: str) -> str:
    """What the timeline is about: the question without the words asking for a timeline ("How has the bridge
    closure developed?" -> "bridge closure"); empty when it names no subject ("What happened?", left of "What
    happened since March?" once its date is a filter). Also a better retrieval query than the question: "timeline"
    or "developed" in an article says nothing about its subject."""
    text = _SHAPE_WORDS.sub(" ", " ".join(question.split()))
    text = " ".join(text.split())
    while (stripped := _LEADING.sub("", text, count=1)) != text:
        text = stripped
    return _TRAILING.sub("", text).strip()


@dataclass
class _Article:
    rank: int
    """Position of its best-retrieved passage: ties in date are shown in retrieval order."""
    published: date | None
    unit: Unit
    relevance: float = 0.0
    vector: np.ndarray | None = None
    """Its best sentence's unit vector (None for a lead: no relevance was measured)."""
    evidence: list[Evidence] = field(default_factory=list)


def timeline(question: str, passages: Sequence[Passage], embedder: Embedder,
             dates_filtered: bool = False) -> Extract | None:
    """The timeline answer: one line per relevant article, oldest first (undated last), each with its date, its best
    sentence and its citation; None when no article bears on the question, so the prose answer (or the refusal)
    runs instead.

    Dates in the question delimit the timeline, they are not its subject: they are never required of an article
    (retrieval's date filter enforces them). ``dates_filtered``: a question without a subject ("What happened since
    March?") lists every retrieved article of the filtered range; without a filter it gets None.
    """
    passages = list(passages)
    sentences = [s for s in passage_sentences(passages) if not is_instruction(s) and not _announces(s)]
    if not sentences:
        return None
    topic = timeline_topic(question)
    terms = _topic_terms(question, topic)
    if not terms:
        return _leads(question, passages, sentences) if dates_filtered else None
    articles = _relevant_articles(topic, terms, passages, sentences, embedder)
    if not articles:
        return None
    evidence = [e for a in articles for e in a.evidence]
    best = max(articles, key=lambda a: a.relevance)
    lead = max(best.evidence, key=lambda e: e.relevance)
    verdict = Verdict(True, f"timeline of {len(articles)} article(s)", lead.coverage, lead.support, lead.similarity,
                      lead.missing, evidence)
    return _compose(question, passages, articles, verdict)


def _announces(s: Sentence) -> bool:
    """ "... included tragic scenes like the following, according to the AP:": a line would show the announcement
    without what it announces."""
    return s.text.rstrip().endswith(":")


def _topic_terms(question: str, topic: str) -> list[Term]:
    """The question's terms (weighed in the full question, where capitals tell names) that belong to its topic."""
    kept = {stem(w) for w in words(topic)}
    return [t for t in question_terms(question) if t.stem in kept and t.kind != "date"]


def _relevant_articles(topic: str, terms: list[Term], passages: list[Passage], sentences: list[Sentence],
                       embedder: Embedder) -> list[_Article]:
    """Each article's best sentence, for the articles the verdict would answer from on their own."""
    order = list(dict.fromkeys(p.article_id for p in passages))
    coverage = {a: salient_coverage(terms, passages, a) for a in order}
    score_keywords(topic, terms, sentences, passages, coverage)
    # An article lacking the topic's names can pass neither test of ``_bears_on``: not worth embedding.
    per_article: dict[str, list[Sentence]] = {a: [] for a in order
                                               if coverage[a][0] >= Thresholds().salient_coverage}
    for s in sorted(sentences, key=lambda s: prior(s, len(passages)), reverse=True):
        pool = per_article.get(passages[s.passage].article_id)
        if pool is not None and len(pool) < CANDIDATES_PER_ARTICLE:
            pool.append(s)
    if not per_article:
        return []
    # Round robin: every article's best candidate is embedded before any article's second.
    queue = [pool[i] for i in range(CANDIDATES_PER_ARTICLE) for pool in per_article.values() if i < len(pool)]
    candidates, vectors = score_candidates(topic, queue, embedder, PIECE_BUDGET)
    found: list[_Article] = []
    for article in order:
        mine = [i for i, s in enumerate(candidates) if passages[s.passage].article_id == article]
        if not mine:
            continue
        cov, missing = coverage[article]
        evidence = [Evidence(cov, missing, 0.5 * candidates[i].lexical + 0.5 * candidates[i].dense,
                             candidates[i].dense, True, candidates[i].lexical, candidates[i].relevance) for i in mine]
        if not _bears_on(evidence, _holds_all(terms, passages, article)):
            continue
        top = max(mine, key=lambda i: candidates[i].relevance)
        best = candidates[top]
        found.append(_Article(order.index(article), published_day(passages[best.passage].published),
                              unit_of(best, sentences, terms), best.relevance, vectors[top], evidence))
    return _distinct(sorted(found, key=lambda a: -a.relevance))[:MAX_LINES]


def _bears_on(evidence: list[Evidence], holds_topic: bool) -> bool:
    """Whether an article belongs in the timeline: the verdict would answer from it alone, or it holds every word of
    the topic and its best sentence is supported as well as the verdict asks. MiniLM's similarity to a bare name
    ("History of Marrow Creek") stays under the verdict's bar even for sentences about it, while an article that
    shares the name but not the rest of the topic (trout in Marrow Creek, for the Marrow Creek bridge) must still
    pass it."""
    if decide(evidence, "any")[0].answerable:
        return True
    return holds_topic and max(e.support for e in evidence) >= Thresholds().support


def _holds_all(terms: list[Term], passages: list[Passage], article: str) -> bool:
    """Whether the article's retrieved text (with its title) contains every term of the topic."""
    vocab = Vocabulary(" ".join(p.title + " " + p.text for p in passages if p.article_id == article))
    return all(vocab.covers(t) for t in terms)


def _distinct(articles: list[_Article]) -> list[_Article]:
    """Drops an article whose best sentence says what a more relevant one's does (one story, two outlets)."""
    kept: list[_Article] = []
    for a in articles:
        if a.vector is None or all(k.vector is None or float(np.dot(a.vector, k.vector)) <= DUPLICATE for k in kept):
            kept.append(a)
    return kept


def _leads(question: str, passages: list[Passage], sentences: list[Sentence]) -> Extract | None:
    """Each retrieved article's first prose sentence (a news lead says what happened), for a question that names
    no subject: the date filter already chose the articles."""
    firsts: dict[str, Sentence] = {}
    for s in sorted(sentences, key=lambda s: (passages[s.passage].start + s.start, s.passage)):
        if not s.fragment and not low_content(s.text):
            firsts.setdefault(passages[s.passage].article_id, s)
    order = list(dict.fromkeys(p.article_id for p in passages))
    articles = [_Article(order.index(a), published_day(passages[s.passage].published), Unit(s.passage, [s]))
                for a, s in firsts.items()]
    articles = sorted(articles, key=lambda a: a.rank)[:MAX_LINES]
    if not articles:
        return None
    return _compose(question, passages, articles, Verdict(True, f"timeline of {len(articles)} article(s) in range"))


def _compose(question: str, passages: list[Passage], articles: list[_Article], verdict: Verdict) -> Extract:
    """One line per article in date order, undated last: ``- 2 Jan 2024 — <sentence> [n]``."""
    articles = sorted(articles, key=lambda a: (a.published is None, a.published or date.min, a.rank))
    units = [a.unit for a in articles]
    numbers, citations = cite(units, passages)
    pieces = [("" if i == 0 else "\n") + f"- {day_label(a.published)} — {a.unit.text} [{n}]"
              for i, (a, n) in enumerate(zip(articles, numbers))]
    return Extract(question, passages, units, verdict, "".join(pieces), citations, pieces)


def published_day(iso: str | None) -> date | None:
    if not iso:
        return None
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def day_label(day: date | None) -> str:
    """ "2 Jan 2024": unambiguous in every locale, unlike 01/02/2024."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}" if day else UNDATED
