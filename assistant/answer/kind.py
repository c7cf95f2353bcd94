"""What kind of answer a question asks for ("how many": a number, "when": a time, "what did X say": a statement)
and whether some sentences give it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.sentences import Sentence
from assistant.terms import MONTHS, WEEKDAYS, Term, Vocabulary, is_number, is_year, matches, question_terms
from assistant.text import stem, words

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
AUXILIARIES = frozenset("were was did do does have has had are is will would could can".split())
UNCOUNTABLE_PLURALS = frozenset("people children men women police staff personnel troops cattle".split())


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


def gives_kind(kind: str, speaker: str, window: Sequence[Sentence], terms: Sequence[Term] = ()) -> bool:
    """Whether the sentences give the kind of answer asked for (for ``speech``: a statement by the speaker)."""
    text = " ".join(s.text for s in window)
    tokens = [w.lower() for w in words(text)]
    if kind == "number":
        return _number_near_terms(window, terms) if terms else any(is_number(t) for t in tokens)
    if kind == "time":
        return any(t in TIME_WORDS or is_year(t) for t in tokens)
    if kind == "speech":
        speaker_terms = question_terms(speaker)
        vocab = Vocabulary(text)
        return bool(SPEECH.search(text)) and all(vocab.covers(t) for t in speaker_terms if t.salient)
    return True


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


def number_next_to(sentence: Sentence, noun: str) -> bool:
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
            if is_number(token) and not is_year(token):
                near = tokens[max(0, i - 4):i + 5]
                if any(matches(t, {stem(w) for w in near}) for t in content):
                    return True
    return False
