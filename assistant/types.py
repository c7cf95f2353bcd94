"""The records that flow from retrieval to answers to the front ends (web, CLI, OpenAI-compatible API).

``Passage`` and ``Filters`` are the store's own (``index.store``): one schema from Chroma to the front ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.store import Filters, Passage, StoryMember

__all__ = ["Answer", "Citation", "Conflict", "Delta", "Filters", "Passage", "StoryMember", "Turn", "report_dict"]


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
    also_reported_by: tuple[StoryMember, ...] = ()
    """The other articles of the passage's story (syndicated copies), earliest first."""

    @classmethod
    def of(cls, n: int, passage: Passage, quotes: tuple[tuple[int, int], ...] = ()) -> Citation:
        return cls(n, passage.article_id, passage.title, passage.source, passage.published, passage.url,
                   passage.text, passage.start, passage.end, passage.score, quotes, passage.also_reported_by)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quotes"] = [list(q) for q in self.quotes]
        data["also_reported_by"] = [report_dict(m) for m in self.also_reported_by]
        return data


def report_dict(member: StoryMember) -> dict[str, str | None]:
    """Another outlet's copy as a citation names it (``also_reported_by``)."""
    return {"source": member.source, "title": member.title, "url": member.url or None,
            "published": member.published or None}


@dataclass(frozen=True)
class Conflict:
    """Figures the cited articles disagree on (``assistant.answer.conflicts`` finds them)."""

    what: str
    """What the figures count, as a reader says it: "killed", "injured", "missiles fired", "drones launched",
    "intercepted" ("missiles intercepted" when the sentence says which), or for amounts e.g. "aid" / "amount"."""
    values: tuple[tuple[str, tuple[int, ...]], ...]
    """Each distinct value as the articles write it (e.g. "at least 12", "15", "$61 billion") with the citation
    numbers giving it, in citation order."""

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "values": [{"value": v, "citations": list(ns)} for v, ns in self.values]}


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
    conflicts: list[Conflict] = field(default_factory=list)
    """Figures the cited articles disagree on; the text says so too."""

    def to_json(self, asked: str | None = None) -> dict[str, Any]:
        return {
            "question": asked if asked is not None else self.question,
            "standalone_question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "mode": self.mode,
            "notice": self.notice,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class Delta:
    """A piece of answer text while it streams; the stream ends with the complete ``Answer``."""

    text: str
