"""Follow-up questions made stand-alone before retrieval, and relative dates made absolute.

Retrieval sees one question at a time, so "and how many were intercepted?" must carry what it refers to. With an
LLM configured, a condense prompt rewrites it; offline (or when the LLM fails) a heuristic adds the previous
question's subject: "How many were intercepted (missiles hit Kyiv on 2 January 2024)?". Relative dates are
rewritten against today's date either way ("yesterday" -> "on 19 December 2024"), so the date filters and the
evidence check see real dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from assistant.llm import LLM, LLMFailure, condense_messages
from assistant.query import without_dates
from assistant.terms import MONTHS, WEEKDAYS, capitalised_phrases, question_terms
from assistant.text import words
from assistant.types import Turn

LEADING = re.compile(r"^\s*(?:and|but|so|also|then|or|ok(?:ay)?|well)\b[\s,]*", re.IGNORECASE)
WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.IGNORECASE)
REFERS_BACK = frozenset("it its they them their theirs he him his she her this that these those there same "
                        "else other others more".split())
WH_PHRASE = re.compile(
    r"^\s*(?:how\s+(?:many|much|often|long|old|far)|what|which|who|whom|whose|when|where|why|how)\b\s*"
    r"(?:(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should)\b\s*)?",
    re.IGNORECASE,
)
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10}


def standalone(question: str, history: Sequence[Turn] | None, today: date,
               llm: LLM | None = None) -> tuple[str, str | None]:
    """The question to retrieve for, and a notice when the LLM could not do the rewriting."""
    question = " ".join(question.split())
    notice = None
    rewritten = None
    if history and llm is not None:
        try:
            reply = llm.complete(condense_messages(question, [(t.question, t.answer) for t in history], today), 120)
            line = next((x.strip().strip("\"'“”") for x in reply.splitlines() if x.strip()), "")
            if 3 <= len(line) <= 500:
                rewritten = line
        except LLMFailure as exc:
            notice = f"{exc} The follow-up was interpreted without it."
    if rewritten is None:
        rewritten = follow_up(question, history or ())
    return absolute_dates(rewritten, today), notice


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """Refers back ("it", "they", "and ...", "what about ...") or names nothing of its own."""
    if not history:
        return False
    if LEADING.match(question) or WHAT_ABOUT.match(question):
        return True
    salient = {t.word for t in question_terms(question) if t.salient}
    for token in words(question):
        if token.lower() in salient:
            return False  # names its own subject first: "What did Putin propose at his press conference?"
        if token.lower() in REFERS_BACK:
            return True  # refers back before naming anything: "What did he say about Belgorod?"
    return not salient


def follow_up(question: str, history: Sequence[Turn]) -> str:
    """The offline rewrite: the follow-up, then the previous question's subject in parentheses."""
    if not is_follow_up(question, history):
        return question
    subject = ""
    for turn in reversed(history):
        subject = topic(turn.question)
        if any(t.salient for t in question_terms(subject)):
            break
    if not subject:
        return question
    about = WHAT_ABOUT.match(question)
    if about:
        swapped = _swap(previous_question(history), about.group(1))
        return swapped or f"What about {about.group(1)} ({subject})?"
    body = LEADING.sub("", question).strip().rstrip("?").strip()
    if not body:
        return question
    if without_dates(body)[1]:  # "And in the December one?": its own date replaces the one it follows up on
        subject = without_dates(subject)[0]
    return f"{body[0].upper()}{body[1:]} ({subject})?"


def previous_question(history: Sequence[Turn]) -> str:
    return re.sub(r"\s*\([^)]*\)\s*(\?)?\s*$", r"\1", history[-1].question.strip()) if history else ""


def _swap(previous: str, new: str) -> str | None:
    """ "What about Kharkiv?" after "How many missiles hit Kyiv on 2 January?" -> "... hit Kharkiv on 2 January?"."""
    if not previous or not (new[:1].isupper() or new[:1].isdigit()):
        return None
    new_is_date = _is_date_phrase(new)
    for phrase in capitalised_phrases(previous):
        if _is_date_phrase(phrase) == new_is_date and phrase.lower() != new.lower():
            return previous.replace(phrase, new, 1)
    return None


def _is_date_phrase(phrase: str) -> bool:
    return any(w.lower() in MONTHS or w.lower() in WEEKDAYS or w.isdigit() for w in words(phrase))


def topic(question: str) -> str:
    """A question without its question words: "How many missiles hit Kyiv?" -> "missiles hit Kyiv"."""
    text = question.strip().rstrip("?").strip()
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)  # an earlier rewrite's own parenthesis
    text = WH_PHRASE.sub("", LEADING.sub("", text))
    return re.sub(r"\s+", " ", re.sub(r"\b(?:did|does|do)\b", " ", text, flags=re.IGNORECASE)).strip()


# -- dates ----------------------------------------------------------------------------------------------------------


def day_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1].capitalize()} {day.year}"


def _month_text(year: int, month: int) -> str:
    return f"{MONTHS[month - 1].capitalize()} {year}"


def _week(monday: date, last: date) -> str:
    return f"between {day_text(monday)} and {day_text(last)}"


def absolute_dates(text: str, today: date) -> str:
    """Relative dates rewritten as dates: "yesterday" -> "on 19 December 2024", "last week" -> "between ..."."""
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    previous_month = first - timedelta(days=1)

    def days_ago(match: re.Match[str]) -> str:
        count = NUMBERS.get(match.group(1).lower()) or int(match.group(1))
        unit = match.group(2).lower()
        if unit.startswith("week"):
            start = monday - timedelta(weeks=count)
            return _week(start, start + timedelta(days=6))
        return f"on {day_text(today - timedelta(days=count))}"

    def past_days(match: re.Match[str]) -> str:
        count = NUMBERS.get(match.group(1).lower()) or int(match.group(1))
        unit = match.group(2).lower()
        span = timedelta(weeks=count) if unit.startswith("week") else timedelta(days=count)
        return f"since {day_text(today - span)}"

    def weekday(match: re.Match[str]) -> str:
        wanted = WEEKDAYS.index(match.group(1).lower())
        back = (today.weekday() - wanted) % 7 or 7
        return f"on {day_text(today - timedelta(days=back))}"

    number = r"(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
    rules: list[tuple[str, object]] = [
        (r"\b(?:on\s+)?the\s+day\s+before\s+yesterday\b", f"on {day_text(today - timedelta(days=2))}"),
        (r"\b(?:on\s+)?yesterday\b", f"on {day_text(today - timedelta(days=1))}"),
        (r"\b(?:on\s+)?(?:today|tonight|this\s+morning|this\s+evening)\b", f"on {day_text(today)}"),
        (rf"\b{number}\s+(days?|weeks?)\s+ago\b", days_ago),
        (rf"\b(?:in\s+|over\s+|during\s+)?the\s+(?:past|last)\s+{number}\s+(days?|weeks?)\b", past_days),
        (r"\b(?:in\s+|during\s+)?the\s+(?:past|last)\s+week\b", f"since {day_text(today - timedelta(days=7))}"),
        (r"\b(?:in\s+|during\s+)?last\s+week\b",
         _week(monday - timedelta(days=7), monday - timedelta(days=1))),
        (r"\b(?:in\s+|during\s+)?this\s+week\b", _week(monday, today)),
        (r"\b(?:in\s+|during\s+)?last\s+month\b", f"in {_month_text(previous_month.year, previous_month.month)}"),
        (r"\b(?:in\s+|during\s+)?this\s+month\b", f"in {_month_text(today.year, today.month)}"),
        (r"\b(?:in\s+|during\s+)?last\s+year\b", f"in {today.year - 1}"),
        (r"\b(?:in\s+|during\s+)?this\s+year\b", f"in {today.year}"),
        (rf"\b(?:on\s+)?last\s+({'|'.join(WEEKDAYS)})\b", weekday),
    ]
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)  # type: ignore[arg-type]
    return re.sub(r"\b(from|since|of|until) (?:in|on) ", r"\1 ", text)
