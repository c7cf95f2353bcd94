"""The retrieved passages' sentences as answer candidates, each once, with the features scoring and the verdict read.

A sentence that leans on the one before ("It flies at ten times the speed of sound") is shown with it: a ``Unit``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.terms import Term, matches
from assistant.text import split_sentences, stem, words
from assistant.types import Passage

MAX_SENTENCE_CHARS = 600
"""Longer "sentences" are tables or run-on lists the splitter could not cut: never an answer."""

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
    """The chunk boundary cut it: the neighbouring chunk holds it whole."""
    lexical: float = 0.0
    """Keyword score (``scoring.keyword_scores``)."""
    dense: float = 0.0
    """Best clause-to-question similarity (candidates only)."""
    adjustment: float = 0.0
    """What makes it a better or worse answer whatever its words (``scoring.adjust``)."""
    relevance: float = 0.0
    """The score the answer's sentences are picked by (candidates only)."""
    tokens: tuple[str, ...] = ()
    stems: frozenset[str] = frozenset()


@dataclass
class Unit:
    """One answer sentence, with the sentence before it when it would not make sense alone."""

    passage: int
    sentences: list[Sentence]

    @property
    def text(self) -> str:
        return " ".join(" ".join(s.text.split()) for s in self.sentences)


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


def tokenise(sentences: Sequence[Sentence]) -> None:
    """Fills in each sentence's lower-cased tokens and its stems."""
    for s in sentences:
        original = words(s.text)
        s.tokens = tuple(w.lower() for w in original)
        s.stems = frozenset(stem(w) for w in original)


def has(sentence: Sentence, term: Term) -> bool:
    return matches(term, sentence.stems)


def matched(terms: list[Term], sentences: Sequence[Sentence | None]) -> set[str]:
    """Stems of the question terms that any of the sentences holds."""
    return {t.stem for t in terms if any(s is not None and has(s, t) for s in sentences)}


def low_content(text: str) -> bool:
    """Bylines, tweet attributions and link lines ("— Name (@handle) January 2, 2024"): never an answer alone."""
    stripped = text.lstrip()
    alpha = [w for w in words(text) if w[:1].isalpha() and len(w) > 1]
    return stripped[:1] in "—–-" or len(alpha) < 5 or text.count("@") + text.count("http") >= 2


def is_instruction(s: Sentence) -> bool:
    """Text that addresses the reader as a model ("ignore previous instructions"): never an answer."""
    return bool(INSTRUCTION.search(s.text))


def unit_of(sentence: Sentence, pool: list[Sentence], terms: Sequence[Term] = ()) -> Unit:
    """The sentence, after the one before it when it leans on it: a pronoun, a very short sentence, or the
    question's names being in the sentence before ("the attack on Kiev ... The barrage involved 100 missiles")."""
    before = [s for s in pool if s.passage == sentence.passage and s.order == sentence.order - 1]
    if before and not before[0].fragment and not low_content(before[0].text):
        salient = [t for t in terms if t.salient and t.kind != "date"]
        lends = any(has(before[0], t) and not has(sentence, t) for t in salient)
        if NEEDS_CONTEXT.match(sentence.text) or len(words(sentence.text)) < 6 or lends:
            return Unit(sentence.passage, [before[0], sentence])
    return Unit(sentence.passage, [sentence])
