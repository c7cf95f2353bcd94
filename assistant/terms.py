"""Words of a question and of the evidence, with how much each one matters.

Shared by the extractive answerer (sentence scoring, the refusal check) and the chat rewriter (a follow-up borrows
the previous question's entities). Rarity comes from the offline MiniLM WordPiece vocabulary: a word that is not one
vocabulary entry, or sits late in it, is uncommon in English, so a name like "Oreshnik" or "Belgorod" weighs more
than "said" without any corpus statistics.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from assistant.text import STOPWORDS, stem, words

QUESTION_WORDS = frozenset("what which who whom whose when where why how did does do is are was were can could "
                           "would should will has have had tell list name give describe explain".split())

NUMBER_WORDS = frozenset("""
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen
nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands million millions
billion billions dozen dozens half quarter quarters three-quarters two-thirds percent
""".split())

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Term:
    word: str
    """Lower-cased surface form."""
    stem: str
    weight: float
    kind: str
    """``name`` (capitalised), ``number``, ``date`` (month, weekday, year, day of month), ``rare`` or ``word``."""

    @property
    def salient(self) -> bool:
        """Names, numbers, dates and rare words: an answer must be about them, not just near them."""
        return self.kind in ("name", "number", "date", "rare")


@lru_cache(maxsize=1)
def _vocab() -> dict[str, int]:
    from tokenizers import Tokenizer

    from index.pipeline.embedding import TOKENIZER_PATH

    return Tokenizer.from_file(str(TOKENIZER_PATH)).get_vocab()


def rarity(word: str) -> float:
    """1.0 for common words, up to 2.0 for words outside the 30k-entry English vocabulary."""
    rank = _vocab().get(word.lower())
    if rank is None:
        return 2.0
    return 1.0 if rank < 12000 else 1.5


def is_number(word: str) -> bool:
    return word[:1].isdigit() or word.lower() in NUMBER_WORDS


def is_year(word: str) -> bool:
    """1800-2099: a four-digit number in that range is read as a year, not a count."""
    return bool(re.fullmatch(r"(1[89]|20)\d\d", word))


ASKING = re.compile(r"\?|_{3,}|\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
CONTEXT_WEIGHT = 0.5
"""Weight of terms from a question's context sentences ("X happened this week. Who ...?"): the evidence that
answers the asking sentence often does not repeat the setting."""


def question_terms(question: str) -> list[Term]:
    """Content words of a question, each once, weighted by how much an answer must be about them."""
    terms: dict[str, Term] = {}
    sentences = [p for p in re.split(r"(?<=[.!?])\s+(?=[\"“'‘(]?[A-Z0-9])", question.strip()) if p.strip()]
    asking = [bool(ASKING.search(p)) for p in sentences]
    discount = any(asking) and not all(asking)
    for sentence, asks in zip(sentences, asking):
        factor = CONTEXT_WEIGHT if discount and not asks else 1.0
        for term in _sentence_terms(sentence):
            term = Term(term.word, term.stem, term.weight * factor, term.kind)
            if term.stem not in terms or terms[term.stem].weight < term.weight:
                terms[term.stem] = term
    return list(terms.values())


def _sentence_terms(sentence: str) -> list[Term]:
    out = []
    tokens = words(sentence)
    for i, token in enumerate(tokens):
        low = token.lower()
        acronym = len(token) >= 2 and token.isupper() and token.isalpha()  # "US", "UN", "EU": not "us"
        if not acronym and (low in STOPWORDS or low in QUESTION_WORDS or len(low) < 2 and not low.isdigit()):
            continue
        if acronym:
            kind, weight = "name", 2.0
        elif _is_date(tokens, i):
            kind, weight = "date", 1.5
        elif low[:1].isdigit():
            kind, weight = "number", 2.0
        elif token[:1].isupper() and (i > 0 or rarity(low) > 1.0):
            kind, weight = "name", 1.5 + 0.5 * (rarity(low) > 1.0)
        elif rarity(low) >= 2.0:
            kind, weight = "rare", 2.0
        else:
            kind, weight = "word", rarity(low)
        out.append(Term(low, stem(token if acronym else low), weight, kind))
    return out


def _is_date(tokens: list[str], i: int) -> bool:
    """Month and weekday names, years, and a day number next to a month ("2 January", "January 2")."""
    low = tokens[i].lower()
    if low in MONTHS or low in WEEKDAYS or is_year(low):
        return True
    if low.isdigit() and int(low) <= 31:
        return any(0 <= j < len(tokens) and tokens[j].lower() in MONTHS for j in (i - 1, i + 1))
    return False


def date_words(iso: str | None) -> str:
    """A publication date as the words a question may use for it: "Tuesday 2 January 2024"."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return ""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


KIN = [frozenset(group.split()) for group in (
    "hit target pound shell bomb",
    "attack strike raid barrag assault",
    "die death dead kill",
)]
"""Stems news uses for one another: "Which cities were hit?" is answered by "Kharkiv was also targeted", "How many
died in the attacks?" by "a barrage ... resulting in the death of at least one person". Attacks and hits stay apart:
"the strikes came while Zelensky was in Brussels" does not say Brussels was hit."""
_KIN_OF = {stem_: group for group in KIN for stem_ in group}


def matches(term: Term, present: Collection[str]) -> bool:
    """Whether a term occurs among some text's stems: same stem, a word news uses for it (``KIN``), same 6-letter
    start (Ukraine/Ukrainian), or, for uncommon names, one transliteration away (Kyiv/Kiev, Zelensky/Zelenskyy:
    same first and last letter, two edits, both words uncommon so "World" never matches "would")."""
    if term.stem in present:
        return True
    kin = _KIN_OF.get(term.stem)
    if kin is not None and any(p in kin for p in present):
        return True
    if term.word[:1].isdigit():
        return False
    if len(term.word) >= 6 and any(p.startswith(term.word[:6]) for p in present):
        return True
    if term.kind == "name" and len(term.stem) >= 4 and rarity(term.word) > 1.0:
        return any(p[:1] == term.stem[:1] and p[-1:] == term.stem[-1:] and abs(len(p) - len(term.stem)) <= 1
                   and _edits(p, term.stem) <= 2 and rarity(p) > 1.0 for p in present)
    return False


def _edits(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


class Vocabulary:
    """The stems present in some evidence text."""

    def __init__(self, text: str) -> None:
        self.stems = {stem(w) for w in words(text)}

    def covers(self, term: Term) -> bool:
        return matches(term, self.stems)


def capitalised_phrases(text: str) -> list[str]:
    """Runs of capitalised words (names, places, dates) not at the very start of the text, plus numbers."""
    phrases: list[str] = []
    current: list[str] = []
    for i, token in enumerate(words(text)):
        low = token.lower()
        named = (token[:1].isupper() and (i > 0 or rarity(low) > 1.0) and low not in QUESTION_WORDS
                 and low not in STOPWORDS)
        if named or (current and is_number(token)) or low[:1].isdigit():
            current.append(token)
            continue
        if current:
            phrases.append(" ".join(current))
            current = []
    if current:
        phrases.append(" ".join(current))
    return phrases
