"""The answer itself among the candidates: the named thing a question asks for ("which country" -> a country).

A candidate sentence holding such a name (not one the question already gives: "besides Kyiv" leaves Kyiv out) is
favoured, one without it is pushed down, and the answer leads with the name when it can be isolated ("Kharkiv —
The northeastern Kharkiv region was also targeted … [1]"). The verdict then requires it in what is shown: a
"which country" answer without a country is refused rather than shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.entities import Entity, entities
from assistant.answer.kind import LABELS, asked_head, wanted_entity, wants_several, wants_town
from assistant.answer.sentences import Sentence, Unit
from assistant.answer.territories import is_territory
from assistant.terms import Term, capitalised_phrases, matches, question_terms
from assistant.text import stem, words

FOUND_BONUS = 0.1
"""Relevance added to a candidate holding a name of the kind asked for..."""
MISSING_PENALTY = 0.3
"""...and taken from one without (the same scale as the scoring adjustments; with both, `newsdesk eval` on the dev
set moved named questions' wrong answers from 20.7% to 13.6%)."""
NAME_POOL = 16
"""Sentences (best by keywords and retrieval rank) searched for names: about 4 ms each on two cores..."""
MAX_NAMES = 3
"""Names led with for a question asking for several ("Which cities ...?")."""
_ARTICLES = frozenset({"the", "a", "an"})
NAMED = frozenset(LABELS)
"""The kinds found by name (``entities``); numbers, amounts and dates are ``kind.answer_type``'s."""


@dataclass
class Answers:
    """The names of the kind asked for in each candidate sentence (keyed by passage and position)."""

    wanted: str | None
    several: bool = False
    names: dict[tuple[int, int], list[Entity]] = field(default_factory=dict)

    def holds(self, sentences: Sequence[Sentence]) -> bool:
        """Whether the sentences hold a name of the kind asked for (always, when the question asks for none)."""
        return self.wanted is None or any(self.names.get((s.passage, s.order)) for s in sentences)

    def lead(self, units: Sequence[Unit]) -> str | None:
        """The name(s) to lead the answer with, from the shown units in order; ``None`` when the question asks for
        no name or the units hold none."""
        if self.wanted is None:
            return None
        seen: dict[str, str] = {}
        for tagged in (True, False):
            if seen:  # a capitalised phrase the model left untagged leads only when it tagged nothing of the kind
                break  # ("Kharkiv, Inna Luhina" for "Which cities were hit besides Kyiv?")
            for u in units:
                for s in u.sentences:
                    for e in self.names.get((s.passage, s.order), []):
                        if (e.label != UNTAGGED) == tagged:
                            seen.setdefault(e.text.lower(), e.text)
        names = list(seen.values())[:MAX_NAMES if self.several else 1]
        return ", ".join(names) or None


def find_answers(question: str, candidates: Sequence[Sentence]) -> Answers:
    """The names of the kind the question asks for in each candidate, leaving out those the question gives."""
    wanted = wanted_entity(question)
    if wanted not in NAMED:
        wanted = None  # numbers and dates: ``kind`` already asks for them, a figure reads best inside its sentence
    answers = Answers(wanted, wants_several(question))
    if wanted is None or not candidates:
        return answers
    asked = question_terms(question)
    labels = LABELS[wanted]
    town = wanted == "place" and wants_town(question)
    if town:  # a building, an airport or a bridge (FAC) is not the city asked for
        labels = labels - {"FAC"}
    for s, found in zip(candidates, entities([s.text for s in candidates])):
        names = [e for e in found + _untagged(s.text, found)
                 if e.label in labels | {UNTAGGED} and not _given(e.text, asked) and not demonym(e.text)
                 and not (town and is_territory(e.text))]
        if names:
            answers.names[(s.passage, s.order)] = names
    return answers


def favour_answers(sentences: Sequence[Sentence], answers: Answers) -> None:
    """Moves each sentence's adjustment (so its chance to be a candidate and its relevance) by whether it holds a
    name of the kind asked for."""
    if answers.wanted is None:
        return
    for s in sentences:
        s.adjustment += FOUND_BONUS if answers.holds([s]) else -MISSING_PENALTY


_EXCLUDED = re.compile(r"\b(?:besides|other than|apart from|except(?: for)?|aside from|not counting)\s+([^,;?.!]+)",
                       re.IGNORECASE)


def without_excluded(question: str, terms: list[Term]) -> list[Term]:
    """The question's terms without those it excludes ("Which cities were hit besides Kyiv?": Kyiv is not what
    the answer should be about; the names stay out of the answer's lead through ``_given``) and, for a place,
    without the word naming the kind of answer ("cities": ``asked_head``)."""
    excluded = {stem(w) for m in _EXCLUDED.finditer(question) for w in words(m.group(0))}  # "besides" too
    head = asked_head(question)
    if head is not None and wanted_entity(question) == "place":  # for a person or a company the word helps: on
        excluded.add(stem(head))  # the dev set, leaving "governor" or "company" out lost more than it gained
    return [t for t in terms if t.stem not in excluded] if excluded else terms


UNTAGGED = "NAME"
"""A capitalised phrase the model tagged as nothing: the small model misses names it has not seen ("Eastbay
Wanderers won the final" gets no entity at all), so these may be the answer too, after the tagged ones."""


def _untagged(text: str, tagged: Sequence[Entity]) -> list[Entity]:
    found = []
    for phrase in capitalised_phrases(text):
        start = text.find(phrase)
        if start >= 0 and not any(e.start < start + len(phrase) and start < e.end for e in tagged):
            found.append(Entity(phrase, UNTAGGED, start, start + len(phrase)))
    return found


_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ean|ese|ish|ic)$")


def demonym(name: str) -> bool:
    """ "Ukrainian", "Chinese": the small model sometimes tags these as places; they are never the place asked
    for."""
    return bool(_DEMONYM.match(name))


def _given(name: str, asked: Sequence[Term]) -> bool:
    """The question already names it, maybe spelt otherwise ("Kiev" for "besides Kyiv", "the United States" in
    "a deal with the United States")."""
    own = [stem(w) for w in words(name) if w.lower() not in _ARTICLES]
    return bool(own) and all(any(matches(t, {w}) for t in asked) for w in own)
