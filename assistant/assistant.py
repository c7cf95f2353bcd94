"""The one API behind the CLI, the web chat, the OpenAI-compatible endpoint and the tests.

A question goes: follow-up rewriting (``chat``) -> date/source filters (given, or inferred from the question by
``query``) -> retrieval -> the extractive answer and its verdict (``answer``) -> refusal, the extractive answer, or
a generated one (``llm``). Offline, the verdict decides whether to answer. With an LLM the model decides: only an
off-topic question (``answer.gate``) is refused before the call, and the extractive answer is the fallback when
the LLM fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from assistant.answer import (
    REFUSAL,
    Extract,
    answer_type,
    extract,
    is_refusal,
    is_timeline,
    refusal_text,
    timeline,
    timeline_topic,
)
from assistant.answer.conflicts import conflict_text, find_conflicts
from assistant.answer.entities import warm_up as warm_entities
from assistant.answer.gate import on_topic
from assistant.answer.kind import spans_articles
from assistant.answer.occurrences import latest_occurrence
from assistant.chat import standalone
from assistant.limits import check_question, check_text
from assistant.llm import LLM, LLMFailure, Markers, build_answer_prompt, cited, tidy
from assistant.published import PublishedDays
from assistant.query import DAY_GRACE, period_text, read_question
from assistant.retrieval import Retriever
from assistant.settings import Settings, load_settings
from assistant.terms import MONTHS, is_year
from assistant.text import words
from assistant.types import Answer, Delta, Filters, Passage, Turn
from index.pipeline.embedding import Embedder, Recent, make_embedder
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
        self.embedder = Recent.around(embedder or make_embedder(settings))
        self.retriever = Retriever(settings, self.store, self.embedder)
        self.llm = LLM(settings) if settings.llm_enabled else None
        pinned = settings.today
        self.today: Callable[[], date] = (lambda: pinned) if pinned else date.today
        """Dates in questions ("yesterday", "on January 2") are read against this (``NEWSDESK_TODAY`` pins it)."""

    def warm_up(self) -> None:
        """Builds the keyword snapshot (in the background) and loads the entity model (0.3 s) and a local embedding
        model (0.26 s) now, so the first question waits for none of them; the web server calls this at start-up."""
        self.retriever.warm_up()
        warm_entities()
        self.embedder.warm_up()

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
        accepts = answers if llm is None else on_topic
        evidence = self._evidence(asked, Filters(since, until, tuple(sources or ())), today, clock, accepts)
        notice = add_notice(notice, evidence.notice) if evidence.notice else notice
        found, filters = with_date_for_when(asked, evidence.found), evidence.filters
        if not accepts(found):
            answer = yield from refuse(asked, found, filters, "offline" if llm is None else self.mode, notice,
                                       evidence.newest)
        elif llm is None:
            answer = yield from offline_answer(asked, found, notice)
        else:
            answer = yield from self._generate(llm, asked, found, filters, today, notice, clock)
        if not answer.refused:
            answer = yield from with_conflicts(answer)
        answer.timings_ms = clock.total()
        yield answer

    def _evidence(self, asked: str, given: Filters, today: date, clock: Stopwatch,
                  accepts: Callable[[Extract], bool]) -> Evidence:
        """The passages to answer from. Dates the caller set are a wall; dates the question names are evidence:
        articles of that period first, then (saying so) the closest evidence outside it, unless the question asks
        about the period itself. Articles published after ``today`` (plus a day's grace) are not news yet.
        ``accepts``: whether what a period gave is worth answering from (the verdict offline, the gate with an
        LLM)."""
        days = self.retriever.published_days()
        frame = read_question(asked, today, self.retriever.known_sources(), days)
        # one line per article by date: asked for ("How has X developed?"), or what a period held ("What happened
        # on 2 January?"); on ``asked``, since "since March" is gone from ``frame.query``
        lines = is_timeline(asked) or frame.about_period
        walls = Filters(given.since, given.until, given.sources or frame.sources)

        def look(filters: Filters, recent_first: bool = False) -> Evidence:
            return self._look(frame.query, filters, today, clock, recent_first=recent_first, as_timeline=lines)

        if given.since or given.until:
            if frame.names_period and not overlaps((frame.since, frame.until), (given.since, given.until)):
                return replace(look(walls), notice=f"The question names {period_text(frame.since, frame.until)}, "
                               f"outside the date filter ({period_text(given.since, given.until)}); searched "
                               "within the filter.")
            return look(walls)
        period = (frame.since, frame.until) if frame.names_period else frame.year
        if period is None:
            return look(walls, recent_first=not lines)
        inside = look(replace(walls, since=period[0], until=period[1]))
        if frame.about_period and not inside.found.passages:  # nothing published then: say what the newest is
            return replace(inside, newest=days.newest(not_after=today + timedelta(days=DAY_GRACE)))
        if accepts(inside.found) or frame.about_period:
            return inside
        for other in same_days_other_years(period, days):  # "2 January 2026" when the story is from 2 January 2024
            wider = look(replace(walls, since=other[0], until=other[1]))
            if accepts(wider.found):
                break
        else:
            wider = look(walls)
            if not accepts(wider.found):
                return wider  # the refusal then names the closest articles, wherever they are
        shown = sorted({c.published for c in wider.found.citations if c.published}
                       or {p.published for p in wider.found.passages[:1] if p.published})
        dated = ", ".join(day_text(day) for day in shown) or "undated articles"
        return replace(wider, notice=f"No article from {period_text(*period)} answers this; this is from {dated}.")

    def _look(self, query: str, filters: Filters, today: date, clock: Stopwatch, *, recent_first: bool = False,
              as_timeline: bool = False) -> Evidence:
        """Retrieve and extract within ``filters``, leaving out articles from after ``today``; ``recent_first``: a
        question naming no time prefers the latest occurrence of what it asks about; ``as_timeline``: one line per
        article by date (from twice as many passages), else the usual answer."""
        horizon = (today + timedelta(days=DAY_GRACE)).isoformat()
        search = (timeline_topic(query) or query) if as_timeline else query
        found_passages = self.retriever.search(search, 2 * self.settings.top_k, filters) if query.strip() else []
        wide = [p for p in found_passages if not p.published or p.published <= horizon]
        # a question over several articles ("How many people died in the attacks?") reads all it retrieved: each
        # article's best passage for it may rank below another article's weaker ones
        passages = wide if spans_articles(query) else wide[:self.settings.top_k]
        if recent_first:
            passages = newest_among_ties(passages)
        clock.lap("retrieve")
        dated = bool(filters.since or filters.until)
        found = ((timeline(query, wide, self.embedder, dates_filtered=dated) if as_timeline else None)
                 or extract(query, passages, self.embedder, dates_filtered=dated))
        notice = None
        if recent_first:
            found, latest = latest_occurrence(found)
            if latest:
                notice = f"The articles tell of this more than once; this is the latest, from {day_text(latest)}."
        clock.lap("extract")
        return Evidence(found, filters, notice)

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
            prompt = build_answer_prompt(asked, ranked, self.settings, today, timeline=is_timeline(asked))
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


@dataclass(frozen=True)
class Evidence:
    found: Extract
    filters: Filters
    """The filters the passages were retrieved within (a refusal names them)."""
    notice: str | None = None
    newest: date | None = None
    """The newest article's day, named when a question about a period in which nothing was published is refused."""


OTHER_YEARS = 3
"""Earlier or later years tried for a day or month the question names before the whole collection is searched."""


def same_days_other_years(period: tuple[date | None, date | None], days: PublishedDays) -> list[tuple[date, date]]:
    """The same days of other years in which the collection has articles, nearest year first: a day or month named
    with the wrong year (or a recurring date) most likely means that one. Only for periods of up to a month."""
    since, until = period
    if since is None or until is None or (until - since).days > 31 or since.year != until.year:
        return []
    found = []
    for year in sorted({d.year for d in days.days} - {since.year}, key=lambda y: abs(y - since.year)):
        try:
            shifted = (since.replace(year=year), until.replace(year=year))
        except ValueError:  # 29 February
            continue
        if days.any_between(*shifted):
            found.append(shifted)
    return found[:OTHER_YEARS]


def names_a_date(text: str) -> bool:
    """A date a reader can place: a month or a year ("on Thursday", "hours after" cannot be placed)."""
    return any(w.lower() in MONTHS or is_year(w) for w in words(text))


def with_date_for_when(asked: str, found: Extract) -> Extract:
    """A "when" question answered by sentences that name no date ("hours after his press conference") gets the
    cited article's publication day first: that is the date the reader asked for."""
    if not found.verdict.answerable or answer_type(asked)[0] != "time" or names_a_date(found.text):
        return found
    day = next((c.published for c in found.citations if c.published), None)
    if day is None:
        return found
    lead = f"Reported on {day_text(day)}: "
    return replace(found, text=lead + found.text, pieces=[lead, *found.pieces])


RECENT_BAND = 0.9
"""Passages scoring within this fraction of the best are near-ties; among them the newest article comes first."""


def newest_among_ties(passages: list[Passage]) -> list[Passage]:
    """The best passages with the latest articles first (undated last), so "Who won the cup?" is answered from the
    latest final rather than whichever one ranked a hair higher; the rest keep their order."""
    if not passages:
        return passages
    ties = [p for p in passages if p.score >= RECENT_BAND * passages[0].score]
    rest = [p for p in passages if p.score < RECENT_BAND * passages[0].score]
    return sorted(ties, key=lambda p: p.published or "", reverse=True) + rest


def day_text(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return period_text(day, day)


def overlaps(a: tuple[date | None, date | None], b: tuple[date | None, date | None]) -> bool:
    return (a[0] or date.min) <= (b[1] or date.max) and (b[0] or date.min) <= (a[1] or date.max)


def refuse(asked: str, found: Extract, filters: Filters, mode: str, notice: str | None,
           newest: date | None = None) -> Step:
    text = refusal_text(found.passages, filters)
    if newest is not None and not found.passages:
        text += f" The newest article is from {period_text(newest, newest)}."
    yield Delta(text)
    return Answer(asked, text, [], True, mode, notice)


def offline_answer(asked: str, found: Extract, notice: str | None) -> Step:
    yield from (Delta(piece) for piece in found.pieces)
    return Answer(asked, found.text, found.citations, False, "offline", notice)


def fallback(asked: str, found: Extract, note: str, streamed: bool) -> Step:
    """The offline answer (or its refusal) instead of a generated one, after a blank line when part of that one was
    shown."""
    if streamed:
        yield Delta("\n\n")
    if not answers(found):
        return (yield from refuse(asked, found, Filters(), "offline", note))
    return (yield from offline_answer(asked, found, note))


def with_conflicts(answer: Answer) -> Step:
    """The answer with a closing sentence on each figure its cited articles disagree on, both citations given
    (offline and generated answers alike: a model may quote one toll as the fact)."""
    conflicts = find_conflicts(answer.citations)
    if not conflicts:
        return answer
    said = " " + conflict_text(conflicts)
    yield Delta(said)
    return replace(answer, text=answer.text + said, conflicts=conflicts)


def answers(found: Extract) -> bool:
    """The offline verdict: the extractive answer answers the question."""
    return found.verdict.answerable


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
