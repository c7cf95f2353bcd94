"""Suggested follow-up questions under an answer: drawn from the articles it cites, shown only when the collection
answers them with something the answer did not already show (a suggestion is never a dead end).

Candidates, in order: what a person named in the cited passages said, what happened in a place they name, what
else happened on the cited articles' days. Each is checked by answering it offline within the same filters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import zip_longest

from assistant.answer.entities import entities
from assistant.answer.reader import demonym
from assistant.assistant import Assistant, day_text
from assistant.terms import Term, matches, question_terms, rarity
from assistant.text import stem, words
from assistant.types import Answer

MAX_SUGGESTIONS = 3
MAX_CHECKED = 6
"""Candidates answered to check them: an offline answer takes ~80 ms (p50 on the dev set, `newsdesk eval`), so at
most about half a second, spent after the answer is shown."""


@dataclass(frozen=True)
class Scope:
    """The filters the answer was given within: a suggestion is checked, and later asked, within the same."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()


def suggest(assistant: Assistant, answer: Answer, scope: Scope = Scope(),
            keep_going: Callable[[], bool] = lambda: True) -> list[str]:
    """Up to ``MAX_SUGGESTIONS`` questions the collection answers, each citing a passage this answer does not.
    ``keep_going``: asked before each check; False (a reader's question is being answered) ends the search with
    what was found, so only a check already under way overlaps the answer (bench/web_latency.py --pause 0)."""
    if answer.refused or not answer.citations:
        return []
    shown = quoted(answer)
    found = []
    for question in candidates(answer)[:MAX_CHECKED]:
        if not keep_going():
            break
        reply = assistant.ask(question, since=scope.since, until=scope.until, sources=scope.sources or None,
                              offline=True)
        if not reply.refused and quoted(reply) - shown:
            found.append(question)
            if len(found) == MAX_SUGGESTIONS:
                break
    return found


def quoted(answer: Answer) -> set[tuple[str, int]]:
    """Where the sentences an answer shows start in their articles (a passage's other sentences are news)."""
    return {(c.article_id, c.start + a) for c in answer.citations for a, _ in c.quotes or ((0, 0),)}


def candidates(answer: Answer) -> list[str]:
    """Questions about the people, places and days of the cited passages that the question did not name, taking
    turns (a person, a place, a day, ...); rarer places first: "Kharkiv" leads to something, "Russia" to anything."""
    asked = question_terms(answer.question)
    people: dict[str, str] = {}
    places: dict[str, str] = {}
    for found in entities([c.text for c in answer.citations]):
        for e in found:
            name = " ".join(e.text.split()).removeprefix("the ").strip(" '’")
            if not name[:1].isupper() or demonym(name) or _named(name, asked):
                continue
            if e.label == "PERSON" and len(name.split()) >= 2:
                people.setdefault(name.split()[-1].lower(), name)
            elif e.label in ("GPE", "LOC") and len(name) > 2:  # "US", "UK" read badly after "in"
                places.setdefault(name.lower(), name)
    days = sorted({c.published[:10] for c in answer.citations if c.published}, reverse=True)
    kinds = [[f"What did {name} say?" for name in people.values()],
             [f"What happened in {place}?" for place in sorted(places.values(), key=lambda p: -rarity(p))],
             [f"What else happened on {day_text(day)}?" for day in days]]
    return [q for turn in zip_longest(*kinds) for q in turn if q]


def _named(name: str, asked: Sequence[Term]) -> bool:
    """The question already names it (any of its words: "Putin" covers "Vladimir Putin")."""
    return any(matches(t, {stem(w)}) for w in words(name) for t in asked if t.kind == "name")
