"""How long a generated answer should be: set by the question, as a word guide in the prompt and a token cap.

A "who"/"when"/"how many" question wants a sentence or two; "what happened"/"why" a short paragraph; several
articles or events ("each", "both", "compare", timelines) a point each. The cap is the settings' answer allowance
at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.kind import answer_type, wants_several
from assistant.answer.timeline import is_timeline

TOKENS_PER_WORD = 2.0
"""Tokens allowed per word of the guide: news prose is about 1.3 cl100k tokens a word, plus markers and slack."""


@dataclass(frozen=True)
class Length:
    words: int
    max_tokens: int

    @property
    def instruction(self) -> str:
        return f"Answer in at most about {self.words} words."


def answer_length(question: str, allowance: int) -> Length:
    """The length the question calls for, capped by ``allowance`` tokens."""
    if is_timeline(question) or wants_several(question):
        words = 250
    elif answer_type(question)[0] != "any" or question.lower().lstrip().startswith(("who", "where", "which")):
        words = 80
    else:
        words = 150
    return Length(words, min(allowance, int(words * TOKENS_PER_WORD)))
