"""Filters a question implies: publication dates ("in December 2024", "last week", "since March") and sources.

``infer_filters`` returns the filters and the question with the date phrases removed: "How many missiles hit Kyiv
on 2 January 2024?" searches as "How many missiles hit Kyiv?" within those dates, so words like "last" and "week"
do not pull in passages that merely say them. Source names stay in the question (they read naturally there and
BM25 does not index the source field). Rules, relative to ``today``:

- a day ("on 2 January 2024", "January 2, 2024", "2024-01-02"): that day and the next (reports often appear a day
  after the event); a month ("in December 2024", "in March") or a year ("in 2023"): the whole period. A month or
  day without a year means the most recent one that has begun.
- "since X", "after X", "from X": from X on; "before X", "until X", "through X": up to X; "between X and Y".
- "today", "yesterday" (yesterday and today), "this week/month/year" (so far), "last week/month/year" (the
  previous calendar one), "past week", "last 3 days", "past two months" (a rolling window ending today).
- Weekday names ("on Tuesday") are left alone: in news they usually date the event inside an article rather than
  the article. Bare years without a preposition ("the 2024 election", "the class of 2020") are left alone too.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.published import PublishedDays
from assistant.terms import question_terms
from assistant.types import Filters

DAY_GRACE = 1
"""Days after a named day still accepted: the report of an event is often published the next day."""

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_END = r"(?![\w-])"

# Date expressions, most specific first. ``bare`` ones are specific enough to count without a preposition.
_FORMS: list[tuple[re.Pattern[str], bool]] = [
    (re.compile(r"(?P<year>(?:19|20)\d{2})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})" + _END), True),
    (re.compile(r"(?P<year>(?:19|20)\d{2})-(?P<mnum>\d{1,2})" + _END), True),
    (re.compile(_DAY + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR + r")?" + _END, re.I), True),
    (re.compile(_MONTH + r"\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?" + _END, re.I), True),
    (re.compile(_MONTH + r",?\s+(?:of\s+)?" + _YEAR + _END, re.I), True),
    (re.compile(_MONTH + _END, re.I), False),
    (re.compile(_YEAR + _END), False),
]

_CUE = re.compile(
    r"\b(?P<cue>between|from|since|after|before|until|till|through|thru|in|during|on|by)\s+(?:the\s+)?", re.I)
_RANGE_JOIN = re.compile(r"\s*(?:and|to|until|till|through|-|–)\s*", re.I)
_UNIT = r"(?P<unit>day|week|month|year)s?"
_RELATIVE = re.compile(
    r"(?:\b(?:in|over|during|within|from|for)\s+)?(?:\bthe\s+)?"
    r"\b(?:(?P<today>today)|(?P<yesterday>yesterday)"
    r"|(?P<which>this|last|past|previous)\s+(?:(?P<count>\d{1,3}|" + "|".join(NUMBERS) + r")\s+)?" + _UNIT + r")\b"
    r"(?!\s+of\b)",
    re.I,
)


@dataclass(frozen=True)
class _Span:
    since: date | None
    until: date | None
    start: int
    end: int


@dataclass(frozen=True)
class TimeFrame:
    """What a question says about time, read against today and the collection."""

    since: date | None = None
    until: date | None = None
    """The period its date phrases name (both None when it names none)."""
    year: tuple[date, date] | None = None
    """A bare year naming the occurrence of a recurring event ("the 2022 final", "2023's budget")."""
    about_period: bool = False
    """It asks what happened in that period ("What happened last week?"), nothing more specific."""
    sources: tuple[str, ...] = ()
    query: str = ""
    """The question without its date phrases, to search with."""

    @property
    def names_period(self) -> bool:
        return bool(self.since or self.until)


GENERIC = frozenset("new news latest happen happened happening headlines headline events event stories story "
                    "anything going report reported reports articles article".split())
"""Words that ask about a period as a whole rather than about something in it."""


def read_question(question: str, today: date, known_sources: Sequence[str], days: PublishedDays | None = None
                  ) -> TimeFrame:
    """The question's period, bare year and sources, and the question to search with (see the module docstring)."""
    spans = _drop_overlaps(_relative_spans(question, today) + _absolute_spans(question, today, days))
    since = until = None
    if spans:
        starts = [s.since for s in spans]
        ends = [s.until for s in spans]
        since = None if any(s is None for s in starts) else min(s for s in starts if s)
        until = None if any(e is None for e in ends) else max(e for e in ends if e)
    cleaned = question
    for span in sorted(spans, key=lambda s: -s.start):
        cleaned = cleaned[:span.start] + " " + cleaned[span.end:]
    cleaned = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(cleaned.split()))
    cleaned = re.sub(r"[,;:]+([?.!])", r"\1", re.sub(r"([,;:])[,;:]+", r"\1", cleaned)).strip(" ,;:")
    years = sorted(int(m.group("year")) for m in re.finditer(_YEAR + _END, cleaned))
    year = (date(years[0], 1, 1), date(years[-1], 12, 31)) if years else None
    about = bool(spans) and all(t.word in GENERIC for t in question_terms(cleaned))
    return TimeFrame(since, until, year, about, tuple(sources_named(question, known_sources)), cleaned or question)


def infer_filters(question: str, today: date, known_sources: Sequence[str], days: PublishedDays | None = None
                  ) -> tuple[Filters, str]:
    """The question's period and sources as filters, and the question to search with."""
    frame = read_question(question, today, known_sources, days)
    return Filters(frame.since, frame.until, frame.sources), frame.query


def without_dates(text: str) -> tuple[str, bool]:
    """``text`` without its date phrases, and whether it had any (the positions do not depend on today)."""
    frame = read_question(text, date.today(), ())
    return frame.query, frame.names_period


def period_of(text: str, today: date) -> tuple[date | None, date | None] | None:
    """A whole filter value read as a period ("last week", "2 January 2024", "December", "yesterday"), or None
    when it is not one date expression: the filters a person types go through the same reading as questions."""
    spans = _drop_overlaps(_relative_spans(text, today) + _absolute_spans(text, today, None))
    if len(spans) != 1 or (text[:spans[0].start] + text[spans[0].end:]).strip(" ,.;:"):
        return None
    return spans[0].since, spans[0].until


def period_text(since: date | None, until: date | None) -> str:
    """ "2 January 2024", "2–3 January 2024", "December 2024", "2024", "since 1 March 2025" """
    if since and until:
        if since == until:
            return _day(since)
        if since.year == until.year:
            if (since.month, since.day, until.month, until.day) == (1, 1, 12, 31):
                return str(since.year)
            if since.month == until.month:
                if since.day == 1 and until.day == calendar.monthrange(until.year, until.month)[1]:
                    return f"{calendar.month_name[since.month]} {since.year}"
                return f"{since.day}–{until.day} {calendar.month_name[since.month]} {since.year}"
            return f"{since.day} {calendar.month_name[since.month]} – {_day(until)}"
        return f"{_day(since)} – {_day(until)}"
    if since:
        return f"since {_day(since)}"
    return f"up to {_day(until)}" if until else "any time"


def _day(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def sources_named(question: str, known_sources: Sequence[str]) -> list[str]:
    """Known sources the question names: "according to Reuters", "what did ZeroHedge report" (zerohedge.com)."""
    found = []
    for source in known_sources:
        for alias in source_aliases(source):
            flags = 0 if len(alias) <= 3 else re.I  # short names only as written: "AP", not "ap"
            if re.search(r"(?<![\w.])" + re.escape(alias) + r"(?![\w])", question, flags):
                found.append(source)
                break
    return found


def source_aliases(source: str) -> list[str]:
    """A source as a reader would name it: "www.zerohedge.com" is also "zerohedge"; "The Guardian" "Guardian"."""
    name = source.strip()
    if not name:
        return []
    aliases = [name]
    if re.fullmatch(r"[\w-]+(\.[\w-]+)+", name):
        labels = [label for label in name.lower().split(".") if label not in {"www", "m", "edition", "amp"}]
        while len(labels) > 1 and (len(labels[-1]) <= 3 or labels[-1] in {"co", "com", "org", "net", "news"}):
            labels.pop()
        if labels and len(labels[-1]) >= 3:
            aliases.append(labels[-1])
    if name.lower().startswith("the ") and len(name) > 8:
        aliases.append(name[4:])
    return aliases


def _relative_spans(question: str, today: date) -> list[_Span]:
    spans = []
    for match in _RELATIVE.finditer(question):
        if match.group("today"):
            if match.group("today")[0] == "T" and match.start("today") > 0:
                continue  # "USA Today", "Russia Today": a name, not a date
            since, until = today, today
        elif match.group("yesterday"):
            since, until = today - timedelta(days=1), today
        else:
            which = match.group("which").lower()
            unit = match.group("unit").lower()
            raw = match.group("count")
            count = (int(raw) if raw.isdigit() else NUMBERS[raw.lower()]) if raw else None
            if unit == "day" and count is None and which != "this":
                continue  # "the last day of the summit" is no date filter
            if which == "this":
                if count is not None:
                    continue
                since, until = _period_start(today, unit), today
            elif which in ("last", "previous") and count is None:
                since, until = _previous_period(today, unit)
            else:  # "past week", "last 3 days", "past two months": a rolling window
                since, until = _shift(today, unit, -(count or 1)), today
        spans.append(_Span(since, until, match.start(), match.end()))
    return spans


def _absolute_spans(question: str, today: date, days: PublishedDays | None) -> list[_Span]:
    cued = _cued_spans(question, today, days)
    return cued + _bare_spans(question, today, [(s.start, s.end) for s in cued], days)


def _cued_spans(question: str, today: date, days: PublishedDays | None) -> list[_Span]:
    """Dates after a preposition: "on 2 January", "since March", "between 9 and 15 December"."""
    spans: list[_Span] = []
    for cue in _CUE.finditer(question):
        word = cue.group("cue").lower()
        parsed = _parse_at(question, cue.end(), today, days)
        if parsed is None:
            continue
        first, end = parsed
        since, until = first
        if word in ("between", "from"):
            join = _RANGE_JOIN.match(question, end)
            second = _parse_at(question, join.end(), today, days) if join else None
            if second is not None:
                (_, until), end = second
                if since > until:  # "between March and May 2024": the year written once counts for both
                    since = _same_day_in(since, until.year)
            elif word == "between":
                continue
            else:
                until = None
        elif word == "since":
            until = None
        elif word == "after":
            since, until = until + timedelta(days=1), None
        elif word == "before":
            since, until = None, since - timedelta(days=1)
        elif word in ("until", "till", "through", "thru", "by"):
            since = None
        elif since == until:
            until = since + timedelta(days=DAY_GRACE)
        spans.append(_Span(since, until, cue.start(), end))
    return spans


def _bare_spans(question: str, today: date, taken: list[tuple[int, int]], days: PublishedDays | None
                ) -> list[_Span]:
    """Specific dates without a preposition ("Kyiv strike, 2 January 2024") outside the ``taken`` spans."""
    spans: list[_Span] = []
    for form, bare in _FORMS:
        if not bare:
            continue
        for match in form.finditer(question):
            if any(a <= match.start() < b for a, b in taken):
                continue
            parsed = _interpret(match, today, days)
            if parsed is None:
                continue
            since, until = parsed
            if since == until:
                until = since + timedelta(days=DAY_GRACE)
            spans.append(_Span(since, until, match.start(), match.end()))
            taken.append((match.start(), match.end()))
    return spans


def _parse_at(text: str, pos: int, today: date, days: PublishedDays | None = None
              ) -> tuple[tuple[date, date], int] | None:
    for form, _ in _FORMS:
        match = form.match(text, pos)
        if match is None:
            continue
        parsed = _interpret(match, today, days)
        if parsed is not None:
            return parsed, match.end()
    return None


def _interpret(match: re.Match[str], today: date, days: PublishedDays | None = None) -> tuple[date, date] | None:
    """The first and last day an expression covers, or None when it is not a date after all."""
    groups = match.groupdict()
    raw_month = groups.get("month")
    if raw_month is not None and raw_month.lower().rstrip(".") == "may" and raw_month[0] != "M":
        return None  # the verb "may", not the month
    short = raw_month is not None and raw_month.lower().rstrip(".") not in ("may", "june", "july", "sept") \
        and len(raw_month.rstrip(".")) <= 4
    if short and not groups.get("year") and not groups.get("day"):
        return None  # "mar", "dec" alone are too ambiguous
    month = MONTHS[raw_month.lower().rstrip(".")] if raw_month else None
    if month is None and groups.get("mnum"):
        month = int(groups["mnum"])
    year = int(groups["year"]) if groups.get("year") else None
    day = int(groups["day"]) if groups.get("day") else None
    if month is not None and not 1 <= month <= 12:
        return None
    try:
        if month is None:
            assert year is not None
            return date(year, 1, 1), date(year, 12, 31)
        if year is None:
            year = _latest_year(month, day, today, days)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, day), date(year, month, day)
    except ValueError:  # 31 February and the like
        return None


def _latest_year(month: int, day: int | None, today: date, days: PublishedDays | None) -> int:
    """The year of a year-less day or month: the latest one, not after today, in which the collection has articles
    (a day's report may come a day later); without any, the latest one that has begun."""
    year = today.year if date(today.year, month, day or 1) <= today else today.year - 1
    oldest = days.oldest if days else None
    candidate = year
    while oldest is not None and candidate >= oldest.year:
        try:
            first = date(candidate, month, day or 1)
        except ValueError:  # 29 February in a common year
            candidate -= 1
            continue
        last = first + timedelta(days=DAY_GRACE) if day else date(candidate, month,
                                                                     calendar.monthrange(candidate, month)[1])
        if days is not None and days.any_between(first, min(last, today + timedelta(days=DAY_GRACE))):
            return candidate
        candidate -= 1
    return year


def _drop_overlaps(spans: list[_Span]) -> list[_Span]:
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def _same_day_in(day: date, year: int) -> date:
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def _period_start(today: date, unit: str) -> date:
    if unit == "day":
        return today
    if unit == "week":
        return today - timedelta(days=today.weekday())
    if unit == "month":
        return today.replace(day=1)
    return today.replace(month=1, day=1)


def _previous_period(today: date, unit: str) -> tuple[date, date]:
    if unit == "day":
        day = today - timedelta(days=1)
        return day, day
    if unit == "week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def _shift(today: date, unit: str, count: int) -> date:
    if unit == "day":
        return today + timedelta(days=count)
    if unit == "week":
        return today + timedelta(weeks=count)
    months = today.month - 1 + count * (12 if unit == "year" else 1)
    year, month = today.year + months // 12, months % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
