"""The offline answer: sentences lifted verbatim from the retrieved passages, each followed by its citation.

Grounded by construction: the answer only ever contains text that is in a cited passage, and every sentence's span
inside its passage is kept (``Citation.quotes``) so a front end can highlight it.

Scoring a sentence uses both kinds of evidence, because each fails alone: keywords (a BM25-style weighted term
coverage, with names, numbers and rare words weighing most, counting the sentence before too) miss paraphrases, and
MiniLM similarity cannot tell a related sentence from an answering one. Only the best ten candidate sentences are
embedded, long ones clause by clause (MiniLM on two cores manages about a hundred short sentences a second).
Sentences are picked with maximal marginal relevance plus a bonus for question terms not yet covered, so each part of
a multi-part question gets its sentence; a sentence that leans on the one before ("It ...") brings it along.

The same evidence decides whether to answer at all (``Verdict``): a picked sentence counts only if its article
contains enough of the question's salient terms (names, numbers, dates, rare words); one of those must be close to
the question; and a question asking "how many", "when" or "what did X say" needs a number, a time or a statement in
what the answer shows. Thresholds are tuned by bench/refusal_eval.py (figures in the notes of issue 3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.terms import (
    MONTHS,
    WEEKDAYS,
    Term,
    Vocabulary,
    date_words,
    is_number,
    matches,
    question_terms,
    stem,
    words,
)
from assistant.types import Citation, Filters, Passage
from index.embedding import Embedder

MAX_SENTENCES = 3
"""Answer sentences (not counting a context sentence kept for a pronoun): short answers."""
MAX_CANDIDATES = 10
"""Sentences embedded per question: the latency budget (see the notes of issue 3 for the measurement)..."""
MAX_PIECES = 14
"""...and texts embedded, a long sentence counting once per clause (``clauses``)."""
MAX_SENTENCE_CHARS = 600

LEXICAL = 0.5
"""Relevance = LEXICAL * keyword score + (1 - LEXICAL) * similarity (+ adjustments, see ``score_sentences``)."""
CONTEXT_SHARE = 0.75
"""Keywords found only in the sentence before count this much."""
CLAUSE_WORDS = 20
MMR_REDUNDANCY = 0.6
COVERAGE_BONUS = 0.25
KEEP_FRACTION = 0.75
"""A further sentence joins the answer only when its relevance is at least this share of the best one's..."""
CLOSE_FRACTION = 0.92
"""...and, unless it is nearly as good as the best, when it covers a question term the answer lacks."""

# Refusal thresholds, calibrated with bench/refusal_eval.py on the sample articles and the dev set.
MIN_SALIENT_COVERAGE = 0.25
"""Share of the question's salient weight (names, numbers, dates, rare words) a sentence's article must contain."""
MIN_SUPPORT = 0.35
"""Minimum of 0.5 * keyword score (sentence or its window) + 0.5 * similarity, for the best shown sentence."""
MIN_SIMILARITY = 0.45
"""Best sentence-to-question similarity (the int8 MiniLM scores run high: unrelated sentences often reach 0.6)."""

ABBREVIATIONS = frozenset("""
mr mrs ms dr prof gen lt col sgt capt maj adm cmdr gov sen rep st jr sr inc co corp ltd no vs etc jan feb mar apr
jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m mt ft
""".split())
NEEDS_CONTEXT = re.compile(
    r"^(?:it|its|this|that|these|those|he|she|they|his|her|their|them|such|there|but|however|also|still|yet|"
    r"meanwhile|instead|then|later|the\s+(?:attack|strike|barrage|move|decision|plan|comment|remark|incident|"
    r"statement|report|move|company|group|agency|ministry|official|president|leader|city))\b",
    re.IGNORECASE,
)
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions|prompt|rules|directions)\b|\bsystem prompt\b|"
    r"\byou are (?:now )?(?:an?|the) (?:ai|assistant|language model|chatbot)\b|\bas an ai\b|"
    r"\b(?:respond|reply|answer) (?:only )?with\b",
    re.IGNORECASE,
)
SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|wrote|writes|writing|posted|posts|tweet(?:ed|s)?|stated|states|statement|"
    r"claimed|claims|announced|announces|described|explained|called|vowed|warned|urged|added|noted|remarks?|"
    r"comments?|commented|responded|replied|accused|insisted|argued|asked|suggest(?:ed|ing)?|proposed|mocked|"
    r"expressing|declared|according)\b|[“”\"]",
    re.IGNORECASE,
)
TIME_WORDS = frozenset(MONTHS + WEEKDAYS + ("yesterday", "today", "morning", "evening", "night", "ago", "earlier",
                                             "week", "month", "year", "hours", "days", "weeks", "months", "years",
                                             "a.m", "p.m", "noon", "midnight", "dawn"))


@dataclass
class Sentence:
    passage: int
    """Index of the passage (in retrieval order) the sentence is taken from."""
    start: int
    end: int
    """Span inside ``passage.text``."""
    text: str
    order: int
    """Position among the passage's sentences."""
    fragment: bool = False
    lexical: float = 0.0
    dense: float = 0.0
    relevance: float = 0.0
    tokens: tuple[str, ...] = ()
    stems: frozenset[str] = frozenset()


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


@dataclass(frozen=True)
class Thresholds:
    salient_coverage: float = MIN_SALIENT_COVERAGE
    support: float = MIN_SUPPORT
    similarity: float = MIN_SIMILARITY


def decide(evidence: Sequence[Evidence], kind: str, limits: Thresholds = Thresholds()) -> tuple[Verdict, list[int]]:
    """The verdict from measured evidence, and which picked sentences may be shown (those from articles that
    contain the question's salient terms)."""
    if not evidence:
        return Verdict(False, "no passages"), []
    kept = [i for i, e in enumerate(evidence) if e.coverage >= limits.salient_coverage]
    lead = evidence[kept[0]] if kept else evidence[0]
    verdict = Verdict(True, "answered", lead.coverage, max((evidence[i].support for i in kept), default=0.0),
                      max((evidence[i].similarity for i in kept), default=-1.0), lead.missing, list(evidence))
    if not kept:
        verdict.answerable, verdict.reason = False, "the articles do not mention " + ", ".join(lead.missing)
    elif verdict.similarity < limits.similarity or verdict.support < limits.support:
        verdict.answerable, verdict.reason = False, "no sentence is close enough to the question"
    elif not any(evidence[i].kind_met for i in kept):
        verdict.answerable, verdict.reason = False, f"no sentence gives the {kind} asked for"
    return verdict, kept


@dataclass
class Unit:
    """One answer sentence, with the sentence before it when it would not make sense alone."""

    passage: int
    sentences: list[Sentence]

    @property
    def text(self) -> str:
        return " ".join(" ".join(s.text.split()) for s in self.sentences)


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


# -- sentences ------------------------------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"“'‘(\[#]?[A-Z0-9\u0400-\u04ff])|\n+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``: punctuation followed by a capital, or a line break; abbreviations kept."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end() if match.group()[0] != "\n" else match.start()
        if match.group()[0] == ".":
            before = text[start:match.start()].split()
            last = before[-1].lower().lstrip("(\"“") if before else ""
            if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def passage_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Sentences of all passages, each once: overlapping chunks of one article repeat sentences, and a chunk cut
    inside a sentence ("... of Lt." | "Gen. Igor Kirillov ...") yields a fragment the neighbouring chunk holds whole."""
    found: list[tuple[Sentence, str, int, int]] = []
    for p_index, passage in enumerate(passages):
        for order, (start, end) in enumerate(split_sentences(passage.text)):
            text = passage.text[start:end]
            if len(text) > MAX_SENTENCE_CHARS or not any(c.isalpha() for c in text):
                continue
            fragment = order == 0 and passage.start > 0 and not (text[:1].isupper() or text[:1] in "\"“#")
            found.append((Sentence(p_index, start, end, text, order, fragment), passage.article_id,
                          passage.start + start, passage.start + end))
    spans: dict[str, list[tuple[int, int]]] = {}
    for _, article, a, b in found:
        spans.setdefault(article, []).append((a, b))
    seen: set[object] = set()
    out: list[Sentence] = []
    for sentence, article, a, b in found:
        norm = " ".join(sentence.text.lower().split())
        if (article, a, b) in seen or norm in seen:
            continue
        if any(x <= a and b <= y and (x, y) != (a, b) for x, y in spans[article]):
            continue
        seen.update(((article, a, b), norm))
        out.append(sentence)
    return out


def low_content(text: str) -> bool:
    """Bylines, tweet attributions and link lines ("— Name (@handle) January 2, 2024"): never an answer alone."""
    stripped = text.lstrip()
    alpha = [w for w in words(text) if w[:1].isalpha() and len(w) > 1]
    return stripped[:1] in "—–-" or len(alpha) < 5 or text.count("@") + text.count("http") >= 2


# -- scoring --------------------------------------------------------------------------------------------------------


def _idf(terms: list[Term], sentences: list[Sentence]) -> dict[str, float]:
    n = max(1, len(sentences))
    out = {}
    for term in terms:
        df = sum(1 for s in sentences if _has(s, term))
        out[term.stem] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def _has(sentence: Sentence, term: Term) -> bool:
    return matches(term, sentence.stems)


def _coverage(terms: list[Term], weights: dict[str, float], present: frozenset[str] | set[str]) -> float:
    total = sum(weights.values()) or 1.0
    return sum(weights[t.stem] for t in terms if t.stem in present) / total


def _matched(terms: list[Term], sentences: Sequence[Sentence | None]) -> set[str]:
    return {t.stem for t in terms if any(s is not None and _has(s, t) for s in sentences)}


AUXILIARIES = frozenset("were was did do does have has had are is will would could can".split())
UNCOUNTABLE_PLURALS = frozenset("people children men women police staff personnel troops cattle".split())


def counted_noun(question: str) -> str | None:
    """What a "how many" question counts: "How many ballistic missiles did ..." -> stem of "missiles"."""
    match = re.search(r"\bhow many\s+(.*)", question.lower())
    if not match:
        return None
    for word in words(match.group(1))[:3]:
        if word in AUXILIARIES:
            return None
        if word in UNCOUNTABLE_PLURALS or (word.endswith("s") and not word.endswith("ss") and len(word) > 3):
            return stem(word)
    return None


def _number_next_to(sentence: Sentence, noun: str) -> bool:
    """A number right before the counted thing: "about 100 missiles", "all five ballistic missiles"."""
    tokens = sentence.tokens
    for i, token in enumerate(tokens):
        if stem(token) == noun and any(is_number(t) for t in tokens[max(0, i - 3):i]):
            return True
    return False


def _number_near_terms(window: Sequence[Sentence], terms: Sequence[Term]) -> bool:
    """A number within a few words of a question term ("death toll of at least five people"), not one about
    something else ("the two nations")."""
    content = [t for t in terms if t.kind not in ("date", "number")]
    for s in window:
        tokens = s.tokens or tuple(w.lower() for w in words(s.text))
        for i, token in enumerate(tokens):
            if is_number(token) and not _is_year(token):
                near = tokens[max(0, i - 4):i + 5]
                if any(matches(t, {stem(w) for w in near}) for t in content):
                    return True
    return False


def _is_year(token: str) -> bool:
    return bool(re.fullmatch(r"(1[89]|20)\d\d", token))


def score_sentences(question: str, terms: list[Term], sentences: list[Sentence], passages: Sequence[Passage],
                    embedder: Embedder, coverage: dict[str, tuple[float, list[str]]]) -> tuple[list[Sentence],
                                                                                              np.ndarray]:
    """Scores every sentence by keywords, embeds the best candidates, returns them with their vectors."""
    for s in sentences:
        original = words(s.text)
        s.tokens = tuple(w.lower() for w in original)
        s.stems = frozenset(stem(w) for w in original)
    idf = _idf(terms, sentences)
    # Dates are checked against the publication date too (judge); inside sentences they mostly match bylines.
    weights = {t.stem: t.weight * idf[t.stem] * (0.3 if t.kind == "date" else 1.0) for t in terms}
    by_place = {(s.passage, s.order): s for s in sentences}
    for s in sentences:
        own = _coverage(terms, weights, _matched(terms, [s]))
        # News sentences lean on the one before ("The barrage ... involved about 100 missiles" after "the attack
        # on Kiev"): terms found there count, a little less.
        window = _coverage(terms, weights, _matched(terms, [s, by_place.get((s.passage, s.order - 1))]))
        s.lexical = max(own, CONTEXT_SHARE * window) / (1 + 0.1 * max(0, len(s.stems) - 25) / 25)
    kind, speaker = answer_type(question)
    noun = counted_noun(question) if kind == "number" else None
    articles = {article: cov for article, (cov, _) in coverage.items()}
    n_passages = len(passages)

    def adjust(s: Sentence) -> float:
        """What makes a sentence a better or worse answer whatever its words: the kind of answer asked for, the
        article being about the question's names and dates, being prose and not an instruction to a model."""
        own = articles[passages[s.passage].article_id]
        value = -(0.3 * (1 - own) + 0.15 * s.fragment + 0.6 * _instruction(s) + 0.3 * low_content(s.text))
        if kind != "any" and not _type_met(kind, speaker, [s], terms):
            value -= 0.15 if kind == "speech" else 0.5
        elif noun and _number_next_to(s, noun):
            value += 0.2
        return value

    # Candidates: best keyword matches, with a prior for well-retrieved passages so paraphrases get a chance.
    def prior(s: Sentence) -> float:
        return s.lexical + 0.25 * (1 - s.passage / max(1, n_passages)) + adjust(s)

    candidates = sorted(sentences, key=prior, reverse=True)[:MAX_CANDIDATES]
    # A long sentence is embedded clause by clause: MiniLM's similarity fades with length, so the clause that
    # answers ("which the Air Force said involved about 100 missiles") would drown in the rest of the sentence.
    owners: list[int] = []
    texts: list[str] = []
    for i, s in enumerate(candidates):
        pieces = clauses(s.text)
        if texts and len(texts) + len(pieces) > MAX_PIECES:
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
    for s, dense in zip(candidates, best):
        s.dense = float(dense)
        s.relevance = LEXICAL * s.lexical + (1 - LEXICAL) * s.dense + adjust(s)
    return candidates, rows


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


def salient_coverage(terms: list[Term], passages: Sequence[Passage], article_id: str) -> tuple[float, list[str]]:
    """Share of the question's salient weight an article's retrieved text (with title and date) contains."""
    evidence = " ".join(p.title + " " + p.source + " " + date_words(p.published) + " " + p.text
                        for p in passages if p.article_id == article_id)
    vocab = Vocabulary(evidence)
    salient = [t for t in terms if t.salient]
    missing = [t for t in salient if not vocab.covers(t)]
    if not salient:
        return 1.0, []
    return 1.0 - sum(t.weight for t in missing) / sum(t.weight for t in salient), [t.word for t in missing]


def _instruction(s: Sentence) -> bool:
    """Text that addresses the reader as a model ("ignore previous instructions"): never an answer."""
    return bool(INSTRUCTION.search(s.text))


def select(terms: list[Term], candidates: list[Sentence], vectors: np.ndarray,
           limit: int = MAX_SENTENCES) -> list[int]:
    """Maximal marginal relevance, plus a bonus for question terms the picked sentences do not cover yet."""
    if not candidates:
        return []
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
            redundancy = max((float(np.dot(vectors[i], vectors[j])) for j in picked), default=0.0)
            new = sum(weights[t] for t in _matched(terms, [s]) - covered) / total
            if picked and new == 0 and s.relevance < CLOSE_FRACTION * best:
                continue  # adds nothing the answer lacks: keep the answer short
            gain = s.relevance - MMR_REDUNDANCY * max(0.0, redundancy - 0.5) + COVERAGE_BONUS * new
            if gain > top_gain:
                top, top_gain = i, gain
        if top < 0 or (picked and redundancy_of(top, picked, vectors) > 0.9):
            break
        picked.append(top)
        covered |= _matched(terms, [candidates[top]])
    return picked


def redundancy_of(i: int, picked: list[int], vectors: np.ndarray) -> float:
    return max((float(np.dot(vectors[i], vectors[j])) for j in picked), default=0.0)


# -- verdict --------------------------------------------------------------------------------------------------------


def answer_type(question: str) -> tuple[str, str]:
    """What kind of answer the question wants: ``number``, ``time``, ``speech`` (with the speaker) or ``any``."""
    q = question.lower()
    if re.search(r"\bhow (many|much|often|old|long|far)\b|\bwhat (number|percentage|share|proportion|amount)\b", q):
        return "number", ""
    said = re.search(r"\bwhat did (.+?) (?:say|tell|claim|write|post|tweet|announce|argue)\b|"
                     r"\bhow did (.+?) (?:respond|react|reply)\b", q)
    if said:
        return "speech", (said.group(1) or said.group(2) or "")
    if re.search(r"^when\b|\bwhen (did|was|were|is|will)\b|\b(what|which) (year|date|day|month|time)\b", q):
        return "time", ""
    return "any", ""


def _type_met(kind: str, speaker: str, window: Sequence[Sentence], terms: Sequence[Term] = ()) -> bool:
    text = " ".join(s.text for s in window)
    tokens = [w.lower() for w in words(text)]
    if kind == "number":
        return _number_near_terms(window, terms) if terms else any(is_number(t) for t in tokens)
    if kind == "time":
        return any(t in TIME_WORDS or _is_year(t) for t in tokens)
    if kind == "speech":
        speaker_terms = question_terms(speaker)
        vocab = Vocabulary(text)
        return bool(SPEECH.search(text)) and all(vocab.covers(t) for t in speaker_terms if t.salient)
    return True


def judge(question: str, terms: list[Term], passages: Sequence[Passage], sentences: list[Sentence],
          candidates: list[Sentence], picked: list[int],
          coverage: dict[str, tuple[float, list[str]]]) -> tuple[Verdict, list[int]]:
    """Whether the picked sentences answer the question, and which of them to show.

    A sentence counts only if its article contains the question's salient terms (names, numbers, dates, rare
    words): "How many people died in the Oreshnik attack on Dnipro?" must not be answered by a death toll from an
    article about another strike. Among those, one must be close to the question (keywords of its sentence
    window and similarity) and give the kind of answer asked for (a number for "how many", a statement for
    "what did X say")."""
    kind, speaker = answer_type(question)
    evidence = []
    for i in picked:
        s = candidates[i]
        cov, missing = coverage[passages[s.passage].article_id]
        # The kind of answer asked for must be in what the answer shows, not merely next to it.
        shown = _unit(s, sentences, terms).sentences
        evidence.append(Evidence(cov, missing, 0.5 * s.lexical + 0.5 * s.dense, s.dense,
                                 _type_met(kind, speaker, shown, terms), s.lexical, s.relevance))
    verdict, kept = decide(evidence, kind)
    return verdict, [picked[i] for i in kept]


# -- the answer -----------------------------------------------------------------------------------------------------


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
    units = [_unit(candidates[i], sentences, terms) for i in kept]
    result = Extract(question, passages, units, verdict)
    if verdict.answerable:
        _render(result)
    return result


def _unit(sentence: Sentence, pool: list[Sentence], terms: Sequence[Term] = ()) -> Unit:
    """The sentence, after the one before it when it leans on it: a pronoun, a very short sentence, or the
    question's names being in the sentence before ("the attack on Kiev ... The barrage involved 100 missiles")."""
    before = [s for s in pool if s.passage == sentence.passage and s.order == sentence.order - 1]
    if before and not before[0].fragment and not low_content(before[0].text):
        salient = [t for t in terms if t.salient and t.kind != "date"]
        lends = any(_has(before[0], t) and not _has(sentence, t) for t in salient)
        if NEEDS_CONTEXT.match(sentence.text) or len(words(sentence.text)) < 6 or lends:
            return Unit(sentence.passage, [before[0], sentence])
    return Unit(sentence.passage, [sentence])


def _render(result: Extract) -> None:
    """Orders the units (best article first, then reading order inside an article) and numbers citations."""
    passages = result.passages
    units = _merge(result.units)
    article_rank: dict[str, int] = {}
    for u in units:
        article_rank.setdefault(passages[u.passage].article_id, len(article_rank))
    units.sort(key=lambda u: (article_rank[passages[u.passage].article_id],
                              passages[u.passage].start + u.sentences[0].start))
    numbers: dict[int, int] = {}
    quotes: dict[int, list[tuple[int, int]]] = {}
    pieces = []
    for u in units:
        n = numbers.setdefault(u.passage, len(numbers) + 1)
        quotes.setdefault(u.passage, []).extend((s.start, s.end) for s in u.sentences)
        pieces.append(("" if not pieces else " ") + f"{u.text} [{n}]")
    result.units = units
    result.pieces = pieces
    result.text = "".join(pieces)
    result.citations = [Citation.of(n, passages[p], tuple(sorted(set(quotes[p])))) for p, n in numbers.items()]


def _merge(units: list[Unit]) -> list[Unit]:
    """Drops a unit whose sentences another unit already shows (a context sentence picked on its own too)."""
    shown: set[tuple[int, int]] = set()
    out: list[Unit] = []
    for u in sorted(units, key=lambda u: -len(u.sentences)):
        keys = {(u.passage, s.order) for s in u.sentences}
        if keys <= shown:
            continue
        u.sentences = [s for s in u.sentences if (u.passage, s.order) not in shown]
        shown |= keys
        out.append(u)
    return out


def refusal_text(passages: Sequence[Passage], filters: Filters | None = None) -> str:
    """Says plainly the articles don't answer, and which nearby articles there are."""
    if not passages:
        if filters:
            return f"No indexed article {describe(filters)}, so I can't answer from the articles."
        return "The indexed articles don't cover this, so I can't answer it."
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.article_id, p)
    nearby = []
    for p in list(seen.values())[:3]:
        meta = ", ".join(x for x in (p.source, p.published) if x)
        nearby.append(f"“{p.title}”" + (f" ({meta})" if meta else ""))
    return "The articles don't say. The closest ones cover: " + "; ".join(nearby) + "."


def describe(filters: Filters) -> str:
    """ "was published between 2024-12-01 and 2024-12-31 by Reuters" """
    parts = []
    if filters.since and filters.until:
        parts.append(f"was published between {filters.since} and {filters.until}")
    elif filters.since:
        parts.append(f"was published on or after {filters.since}")
    elif filters.until:
        parts.append(f"was published on or before {filters.until}")
    if filters.sources:
        parts.append(("comes from " if not parts else "by ") + " or ".join(filters.sources))
    return " ".join(parts) or "matches"
