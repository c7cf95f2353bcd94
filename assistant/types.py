"""The records that flow from retrieval to answers to the front ends (web, CLI, OpenAI-compatible API).

``Passage`` and ``Filters`` are the store's own (``index.store``): one schema from Chroma to the front ends.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from index.store import Filters, Passage, StoryMember

__all__ = ["Answer", "Citation", "Conflict", "Delta", "Filters", "Passage", "StoryMember", "Turn", "report_dict",
           "report_from"]


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

    @classmethod
    def from_dict(cls, data: Any) -> Citation | None:
        """``to_dict``'s form read back, or None when a field is missing or of the wrong kind (it may come from
        outside: a browser's saved conversation)."""
        if not isinstance(data, dict):
            return None
        n, passage, start, end, score = (data.get(k) for k in ("n", "text", "start", "end", "score"))
        strings = [data.get(k) for k in ("article_id", "title", "source")]
        optional = [data.get(k) for k in ("published", "url")]
        if not (_int(n) and n > 0 and isinstance(passage, str) and _int(start) and _int(end) and _number(score)
                and all(isinstance(s, str) for s in strings)
                and all(o is None or isinstance(o, str) for o in optional)):
            return None
        quotes = data.get("quotes", [])
        if not isinstance(quotes, list) or not all(
                isinstance(q, list) and len(q) == 2 and _int(q[0]) and _int(q[1]) and 0 <= q[0] <= q[1] <= len(passage)
                for q in quotes):
            return None
        reports = data.get("also_reported_by", [])
        if not isinstance(reports, list):
            return None
        members = [report_from(r) for r in reports]
        if any(m is None for m in members):
            return None
        return cls(n, strings[0], strings[1], strings[2], optional[0], optional[1], passage, start, end,
                   float(score), tuple((q[0], q[1]) for q in quotes), tuple(members))  # type: ignore[arg-type]


def report_dict(member: StoryMember) -> dict[str, str | None]:
    """Another outlet's copy as a citation names it (``also_reported_by``)."""
    return {"source": member.source, "title": member.title, "url": member.url or None,
            "published": member.published or None}


def report_from(data: Any) -> StoryMember | None:
    """``report_dict``'s form read back (``Citation.from_dict``); the article id is not part of it."""
    if not isinstance(data, dict):
        return None
    source, title, url, published = (data.get(k) for k in ("source", "title", "url", "published"))
    if not (isinstance(source, str) and isinstance(title, str) and (url is None or isinstance(url, str))
            and (published is None or isinstance(published, str))):
        return None
    return StoryMember("", source, title, url or "", published or "")


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


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

    @classmethod
    def from_dict(cls, data: Any) -> Conflict | None:
        """``to_dict``'s form read back, or None when it does not parse."""
        if not isinstance(data, dict) or not isinstance(data.get("what"), str) or not isinstance(data.get("values"),
                                                                                                  list):
            return None
        values = []
        for v in data["values"]:
            if not (isinstance(v, dict) and isinstance(v.get("value"), str) and isinstance(v.get("citations"), list)
                    and all(_int(n) for n in v["citations"])):
                return None
            values.append((v["value"], tuple(v["citations"])))
        return cls(data["what"], tuple(values))


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

    @classmethod
    def from_json(cls, data: Any) -> Answer | None:
        """``to_json``'s form read back (timings left out), or None when any field is missing or of the wrong kind."""
        if not isinstance(data, dict):
            return None
        text, asked, refused, mode, notice = (data.get(k) for k in ("answer", "standalone_question", "refused",
                                                                      "mode", "notice"))
        if not (isinstance(text, str) and isinstance(asked, str) and isinstance(refused, bool)
                and isinstance(mode, str) and (notice is None or isinstance(notice, str))):
            return None
        raw_citations, raw_conflicts = data.get("citations"), data.get("conflicts", [])
        if not isinstance(raw_citations, list) or not isinstance(raw_conflicts, list):
            return None
        citations = [Citation.from_dict(c) for c in raw_citations]
        conflicts = [Conflict.from_dict(c) for c in raw_conflicts]
        if any(c is None for c in citations) or any(c is None for c in conflicts):
            return None
        return cls(asked, text, citations, refused, mode, notice or None,  # type: ignore[arg-type]
                   conflicts=conflicts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Delta:
    """A piece of answer text while it streams; the stream ends with the complete ``Answer``."""

    text: str
