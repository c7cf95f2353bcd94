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


_ACROSS = (r"each|both|all|every|compare[sd]?|comparison|versus|vs\.?|differ(?:ent|ence|ences)?|attacks|strikes|"
           r"events|reports")
"""Words asking about several events or articles (``ACROSS``); ``SEVERAL`` adds several names of one kind."""
SEVERAL = re.compile(
    rf"\b(?:{_ACROSS}|list|which (?:cities|countries|regions|places|people|companies|articles|reports)|"
    r"what (?:cities|countries|regions|places)|other (?:cities|countries|regions|places|targets)|besides|other than|"
    r"apart from|except)\b",
    re.IGNORECASE,
)
"""Words asking about more than one thing: "each", "both", "compare", "besides X", plural events."""


def wants_several(question: str) -> bool:
    """Whether the question asks about several articles, events or things (one point each), not one fact."""
    return bool(SEVERAL.search(question))


ACROSS = re.compile(rf"\b(?:{_ACROSS}|articles)\b", re.IGNORECASE)
"""Of ``SEVERAL``, the words asking about several events or articles, not several names of one kind."""


def spans_articles(question: str) -> bool:
    """Whether the answer takes a point from each of several articles ("How many people died in the attacks?"),
    not several names that one article may give ("Which cities were hit besides Kyiv?")."""
    return bool(ACROSS.search(question))


# What a question names as the answer's kind ("which country", "this artist", "who") -> the entity labels that can
# be it. Checked against the answer (``reader``): a "which country" answer without a country is not an answer.
_HEADS = {
    "person": ("person people man woman men women artist singer actor actress rapper musician band president leader "
               "politician senator governor official player athlete star celebrity author writer ceo founder "
               "billionaire businessman businesswoman director judge candidate journalist host comedian coach "
               "quarterback pope king queen prince princess minister chancellor footballer golfer boxer lawmaker "
               "congressman congresswoman scientist astronaut entrepreneur executive mayor monarch designer "
               "chef pitcher striker goalkeeper driver champion winner icon legend activist spokesperson "
               "secretary general dictator premier emperor tycoon rep representative head justice ally member lawyer "
               "spokesman spokeswoman"),
    "place": ("country countries nation nations city cities state states town capital region province island "
              "continent county territory place location where site venue"),
    "organisation": ("company companies firm corporation team club organization organisation network agency "
                     "university college party brand retailer airline automaker carmaker bank startup league "
                     "giant publisher newspaper outlet platform manufacturer maker chain conglomerate "
                     "union group broadcaster studio district"),
    "number": "number",
    "percentage": "percentage percent proportion share",
    "amount": "amount price cost sum",
}
_HEAD_OF = {word: kind for kind, heads in _HEADS.items() for word in heads.split()}
LABELS = {
    "who": frozenset({"PERSON", "ORG", "NORP"}),
    "person": frozenset({"PERSON"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "organisation": frozenset({"ORG"}),
}
"""The entity labels that can answer each kind of name asked for; numbers, amounts and dates are checked by
``answer_type`` and ``gives_kind`` instead."""
_ASKED = re.compile(r"\b(which|what|whose|this|these)\s+((?:[\w'-]+\s*){1,4})", re.IGNORECASE)
_NOT_ASKED = frozenset("week weekend year month day time morning season".split())
"""After "this": "this week", "this year's Emmys" are times the question is set in, not what it asks for."""
_VERBS = frozenset("did does do is was were are has have had will would can could should may might".split())
"""After "what": "What did the Pope say?" asks for what was said, not for a person."""


def wanted_entity(question: str) -> str | None:
    """The kind of named thing the question asks for (a key of ``LABELS``), or ``None`` for other questions
    ("What did Putin propose?", "Why ...?")."""
    q = " ".join(question.split())
    if re.match(r"^\W*(?:who|whom)\b", q, re.IGNORECASE) or re.search(r"\bwho\s+(?:is|was|were|won|will|has|had|"
                                                                          r"did|became|said)\b", q, re.IGNORECASE):
        return "who"
    if re.match(r"^\W*where\b", q, re.IGNORECASE):
        return "place"
    if re.search(r"\bhow\s+many\b", q, re.IGNORECASE):
        return "number"
    if re.search(r"\bhow\s+much\b", q, re.IGNORECASE):
        return "amount"
    if answer_type(q)[0] == "time":
        return "date"
    head = asked_head(q)
    return _HEAD_OF[head] if head else None


def asked_head(question: str) -> str | None:
    """The word naming the kind of thing asked for ("cities" in "Which cities were hit?"): it says what the answer
    is, not what it is about, so the sentence that answers seldom holds it ("Kharkiv was also targeted")."""
    for match in _ASKED.finditer(" ".join(question.split())):
        following = [w.strip("'").removesuffix("'s") for w in match.group(2).lower().split()]
        if match.group(1).lower() in ("this", "these") and following and following[0] in _NOT_ASKED:
            continue
        if following and following[0] in _VERBS:
            continue
        head = next((w for w in following if w in _HEAD_OF), None)
        if head is not None:
            return head
    return None


_TOWNS = frozenset("city cities town towns village villages capital capitals".split())


def wants_town(question: str) -> bool:
    """Whether the place asked for is a city or town ("Which cities were hit?"), so a country is not the answer."""
    return asked_head(question) in _TOWNS


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
        # every word naming the speaker, salient or not: the speaker comes lowercased ("the pope"), and a
        # statement by someone else does not say what the Pope said
        return bool(SPEECH.search(text)) and all(vocab.covers(t) for t in speaker_terms)
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
