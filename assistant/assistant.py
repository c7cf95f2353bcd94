"""The one API behind the CLI, the web chat, the OpenAI-compatible endpoint and the tests.

A question goes: follow-up rewriting (``chat``) -> date/source filters (given, or inferred from the question) ->
retrieval -> the extractive answer and the evidence verdict (``answer``) -> refusal, the extractive answer, or a
generated one (``llm``). The evidence verdict comes first in every mode, so an unanswerable question never reaches
the LLM, and the extractive answer is ready as the fallback when the LLM fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from assistant import answer as extractive
from assistant.chat import standalone
from assistant.limits import check_question, check_text
from assistant.llm import LLM, LLMFailure, Markers, build_answer_prompt, cited, is_refusal, tidy
from assistant.retrieval import Retriever
from assistant.settings import Settings, load_settings
from assistant.types import Answer, Delta, Filters, Passage, Turn
from index.embedding import Embedder, make_embedder
from index.store import Store

try:  # date and source filters named in the question ("in December 2024", "from Reuters")
    from assistant.query import infer_filters
except ImportError:  # pragma: no cover - the retrieval issue delivers it
    infer_filters = None


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
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str, since_t: float) -> float:
            now = time.perf_counter()
            timings[name] = (now - since_t) * 1000
            return now

        llm = None if offline else self.llm
        today = self.today()
        asked, notice = standalone(question, history, today, llm)
        t = lap("rewrite", started)
        filters, query = self._filters(asked, since, until, sources, today)
        passages = self.retriever.search(query, self.settings.top_k, filters) if query.strip() else []
        t = lap("retrieve", t)
        found = extractive.extract(query, passages, self.embedder, dates_filtered=bool(filters.since or filters.until))
        t = lap("extract", t)

        def finish(text: str, citations: list, refused: bool, mode: str, note: str | None) -> Answer:
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(asked, text, citations, refused, mode, note, dict(timings))

        if not found.verdict.answerable:
            text = extractive.refusal_text(passages, filters)
            yield Delta(text)
            yield finish(text, [], True, "offline" if llm is None else self.mode, notice)
            return
        if llm is None:
            yield from (Delta(piece) for piece in found.pieces)
            yield finish(found.text, found.citations, False, "offline", notice)
            return

        # Generated answer: passages holding the extractive answer first, then the rest in retrieval order.
        ranked = [passages[i] for i in found.used_passages]
        ranked += [p for p in passages if p not in ranked]
        streamed = False
        try:
            prompt = build_answer_prompt(asked, ranked, self.settings, today)
            markers = Markers(len(prompt.passages))
            pieces: list[str] = []
            for raw in llm.stream(prompt.messages, prompt.max_tokens):
                piece = markers.feed(raw)
                if piece:
                    if not streamed:
                        t = lap("first_token", t)
                    streamed = True
                    pieces.append(piece)
                    yield Delta(piece)
            tail = markers.flush()
            if tail:
                pieces.append(tail)
                yield Delta(tail)
            lap("generate", t)
        except LLMFailure as exc:
            note = f"{exc} Showing the offline answer instead."
            if streamed:
                yield Delta("\n\n")
            yield from (Delta(piece) for piece in found.pieces)
            yield finish(found.text, found.citations, False, "offline", note)
            return
        text = tidy("".join(pieces))
        citations = cited(text, prompt.passages, markers.order)
        if not citations and is_refusal(text):
            text = extractive.refusal_text(passages, filters)
            yield Delta(text.removeprefix("The articles don't say."))
            yield finish(text, [], True, self.mode, notice)
            return
        if not text:
            note = "The language model returned an empty answer. Showing the offline answer instead."
            yield from (Delta(piece) for piece in found.pieces)
            yield finish(found.text, found.citations, False, "offline", note)
            return
        if not citations:
            notice = ((notice + " ") if notice else "") + (
                "This generated answer cites none of the passages, so it may not come from the articles.")
        elif markers.dropped:
            notice = ((notice + " ") if notice else "") + (
                f"{markers.dropped} citation marker(s) pointing at no passage were removed.")
        yield finish(text, citations, False, self.mode, notice)

    def _filters(self, question: str, since: date | None, until: date | None, sources: Sequence[str] | None,
                 today: date) -> tuple[Filters, str]:
        """Filters given by the caller win; the question may add the ones it names itself."""
        given = Filters(since, until, tuple(sources or ()))
        if infer_filters is None:
            return given, question
        known = getattr(self.retriever, "known_sources", None)
        inferred, query = infer_filters(question, today, known() if known else ())
        merged = replace(given, since=given.since or inferred.since, until=given.until or inferred.until,
                         sources=given.sources or inferred.sources)
        return merged, query or question
