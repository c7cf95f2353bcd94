"""The records that flow from retrieval to answers to the front ends (web, CLI, OpenAI-compatible API).

``Passage`` and ``Filters`` are the store's own (``index.store``): one schema from Chroma to the front ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.store import Filters, Passage

__all__ = ["Answer", "Citation", "Delta", "Filters", "Passage", "Turn"]


@dataclass(frozen=True)
class Citation:
    """A passage as cited by an answer: marker ``[n]`` in the answer text points here."""

    n: int
    article_id: str
    title: str
    source: str
    published: str | None
    url: str | None
    text: str
    """The whole passage (the surrounding context shown in the sources panel)."""
    start: int
    end: int
    score: float
    quotes: tuple[tuple[int, int], ...] = ()
    """Spans inside ``text`` (offsets relative to the passage) that the answer actually used: highlighted."""

    @classmethod
    def of(cls, n: int, passage: Passage, quotes: tuple[tuple[int, int], ...] = ()) -> Citation:
        return cls(n, passage.article_id, passage.title, passage.source, passage.published, passage.url,
                   passage.text, passage.start, passage.end, passage.score, quotes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quotes"] = [list(q) for q in self.quotes]
        return data


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, as the history passed to ``Assistant.ask``."""

    question: str
    answer: str


@dataclass
class Answer:
    question: str
    """The question as answered: a follow-up is rewritten into a stand-alone question first."""
    text: str
    citations: list[Citation]
    refused: bool
    mode: str
    """``offline`` (extractive) or ``llm:<model>``."""
    notice: str | None = None
    """Something the user should know, e.g. the LLM failed and the offline answer is shown instead."""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self, asked: str | None = None) -> dict[str, Any]:
        return {
            "question": asked if asked is not None else self.question,
            "standalone_question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
            "notice": self.notice,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class Delta:
    """A piece of answer text while it streams; the stream ends with the complete ``Answer``."""

    text: str
