"""The one API behind the CLI, the web chat, the OpenAI-compatible endpoint and the tests.

A question goes: follow-up rewriting (``chat``) -> date/source filters (given, or inferred from the question by
``query``) -> retrieval -> the extractive answer and the evidence verdict (``answer``) -> refusal, the extractive
answer, or a generated one (``llm``). The evidence verdict comes first in every mode, so an unanswerable question
never reaches the LLM, and the extractive answer is ready as the fallback when the LLM fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from assistant.answer import REFUSAL, Extract, extract, is_refusal, refusal_text
from assistant.chat import standalone
from assistant.limits import check_question, check_text
from assistant.llm import LLM, LLMFailure, Markers, build_answer_prompt, cited, tidy
from assistant.query import infer_filters
from assistant.retrieval import Retriever
from assistant.settings import Settings, load_settings
from assistant.types import Answer, Delta, Filters, Passage, Turn
from index.pipeline.embedding import Embedder, make_embedder
from index.store import Store

Step = Generator[Delta, None, Answer]
"""An answering step: the text pieces it streams, then its ``Answer`` (timed by ``ask_stream``)."""


class Stopwatch:
    """Milliseconds spent in each step of one question (``Answer.timings_ms``)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = (now - self.last) * 1000
        self.last = now

    def total(self) -> dict[str, float]:
        self.timings["total"] = (time.perf_counter() - self.started) * 1000
        return dict(self.timings)


class Assistant:
    def __init__(self, settings: Settings | None = None, *, home: str | Path | None = None,
                 store: Store | None = None, embedder: Embedder | None = None) -> None:
        if settings is None:
            settings = load_settings(**({"home": Path(home)} if home else {}))
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or make_embedder(settings)
        self.retriever = Retriever(settings, self.store, self.embedder)
        self.llm = LLM(settings) if settings.llm_enabled else None
        self.today: Callable[[], date] = date.today
        """Relative dates ("yesterday") are resolved against this; tests pin it."""

    @property
    def mode(self) -> str:
        """``offline`` or ``llm:<model>``: shown by the UI's mode indicator."""
        return f"llm:{self.llm.model}" if self.llm else "offline"

    def search(self, query: str, k: int = 10, since: date | None = None, until: date | None = None,
               sources: Sequence[str] | None = None) -> list[Passage]:
        return self.retriever.search(query, k, Filters(since, until, tuple(sources or ())))

    def ask(self, question: str, history: Sequence[Turn] | None = None, since: date | None = None,
            until: date | None = None, sources: Sequence[str] | None = None, offline: bool = False) -> Answer:
        """The complete answer; same as draining ``ask_stream``."""
        answer = None
        for event in self.ask_stream(question, history, since, until, sources, offline):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: Sequence[Turn] | None = None, since: date | None = None,
                   until: date | None = None, sources: Sequence[str] | None = None,
                   offline: bool = False) -> Iterator[Delta | Answer]:
        """Text pieces as they are produced, then the complete ``Answer`` (always last, exactly once).

        The final ``Answer.text`` is authoritative: when the LLM fails mid-answer, the pieces already streamed are
        followed by the offline answer, and the ``Answer`` holds only the latter (with a ``notice`` saying why).
        Raises ``assistant.limits.QuestionError`` (before any work) for a question that is too long or not valid text.
        """
        check_question(question, self.settings)
        for turn in history or ():
            check_text(turn.question + turn.answer, "the conversation")
        clock = Stopwatch()
        llm = None if offline else self.llm
        today = self.today()
        asked, notice = standalone(question, history, today, llm)
        clock.lap("rewrite")
        filters, query = self._filters(asked, since, until, sources, today)
        passages = self.retriever.search(query, self.settings.top_k, filters) if query.strip() else []
        clock.lap("retrieve")
        found = extract(query, passages, self.embedder, dates_filtered=bool(filters.since or filters.until))
        clock.lap("extract")
        if not found.verdict.answerable:
            answer = yield from refuse(asked, found, filters, "offline" if llm is None else self.mode, notice)
        elif llm is None:
            answer = yield from offline_answer(asked, found, notice)
        else:
            answer = yield from self._generate(llm, asked, found, filters, today, notice, clock)
        answer.timings_ms = clock.total()
        yield answer

    def _filters(self, question: str, since: date | None, until: date | None, sources: Sequence[str] | None,
                 today: date) -> tuple[Filters, str]:
        """Filters given by the caller win; the question may add the ones it names itself ("in December 2024",
        "from Reuters"). Returns them and the question to search with (without its date phrases)."""
        given = Filters(since, until, tuple(sources or ()))
        inferred, query = infer_filters(question, today, self.retriever.known_sources())
        merged = replace(given, since=given.since or inferred.since, until=given.until or inferred.until,
                         sources=given.sources or inferred.sources)
        return merged, query or question

    def _generate(self, llm: LLM, asked: str, found: Extract, filters: Filters, today: date, notice: str | None,
                  clock: Stopwatch) -> Step:
        """The LLM's answer, streamed with its markers checked; the offline answer when the LLM fails or says
        nothing, the refusal when it says the articles don't answer."""
        passages = found.passages
        # Passages holding the extractive answer first, then the rest in retrieval order.
        ranked = [passages[i] for i in found.used_passages]
        ranked += [p for p in passages if p not in ranked]
        pieces: list[str] = []
        try:
            prompt = build_answer_prompt(asked, ranked, self.settings, today)
            markers = Markers(len(prompt.passages))
            for piece in marked_stream(llm, prompt.messages, prompt.max_tokens, markers, clock):
                pieces.append(piece)
                yield Delta(piece)
        except LLMFailure as exc:
            note = f"{exc} Showing the offline answer instead."
            return (yield from fallback(asked, found, note, streamed=bool(pieces)))
        text = tidy("".join(pieces))
        citations = cited(text, prompt.passages, markers.order)
        if not citations and is_refusal(text):
            text = refusal_text(passages, filters)
            yield Delta(text.removeprefix(REFUSAL))  # the model already streamed the refusal sentence
            return Answer(asked, text, [], True, self.mode, notice)
        if not text:
            note = "The language model returned an empty answer. Showing the offline answer instead."
            return (yield from fallback(asked, found, note, streamed=False))
        if not citations:
            notice = add_notice(notice, "This generated answer cites none of the passages, so it may not come "
                                        "from the articles.")
        elif markers.dropped:
            notice = add_notice(notice, f"{markers.dropped} citation marker(s) pointing at no passage were removed.")
        return Answer(asked, text, citations, False, self.mode, notice)


def refuse(asked: str, found: Extract, filters: Filters, mode: str, notice: str | None) -> Step:
    text = refusal_text(found.passages, filters)
    yield Delta(text)
    return Answer(asked, text, [], True, mode, notice)


def offline_answer(asked: str, found: Extract, notice: str | None) -> Step:
    yield from (Delta(piece) for piece in found.pieces)
    return Answer(asked, found.text, found.citations, False, "offline", notice)


def fallback(asked: str, found: Extract, note: str, streamed: bool) -> Step:
    """The offline answer instead of a generated one, after a blank line when part of that one was shown."""
    if streamed:
        yield Delta("\n\n")
    return (yield from offline_answer(asked, found, note))


def marked_stream(llm: LLM, messages: list[dict[str, str]], max_tokens: int, markers: Markers,
                  clock: Stopwatch) -> Iterator[str]:
    """The model's reply in pieces, markers checked and renumbered (``Markers``); laps ``first_token`` and
    ``generate``."""
    first = True
    for raw in llm.stream(messages, max_tokens):
        piece = markers.feed(raw)
        if piece:
            if first:
                clock.lap("first_token")
                first = False
            yield piece
    tail = markers.flush()
    if tail:
        yield tail
    clock.lap("generate")


def add_notice(notice: str | None, more: str) -> str:
    return ((notice + " ") if notice else "") + more
