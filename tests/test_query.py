"""Filters inferred from a question's words, relative to a fixed day, then applied to real retrieval."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.query import infer_filters, source_aliases
from assistant.retrieval import Retriever
from index import Indexer

TODAY = date(2025, 3, 12)  # a Wednesday
SOURCES = ["www.zerohedge.com", "Reuters", "The Guardian", "USA Today", "AP"]


def dates(question: str, today: date = TODAY) -> tuple[date | None, date | None]:
    filters, _ = infer_filters(question, today, SOURCES)
    return filters.since, filters.until


@pytest.mark.parametrize(("question", "since", "until"), [
    ("What did Putin say in December 2024?", date(2024, 12, 1), date(2024, 12, 31)),
    ("How many missiles hit Kyiv on 2 January 2024?", date(2024, 1, 2), date(2024, 1, 3)),
    ("What happened on January 2, 2024 in Kyiv?", date(2024, 1, 2), date(2024, 1, 3)),
    ("Strikes reported 2024-01-02?", date(2024, 1, 2), date(2024, 1, 3)),
    ("Elections in 2023", date(2023, 1, 1), date(2023, 12, 31)),
    ("What happened last week?", date(2025, 3, 3), date(2025, 3, 9)),
    ("Any strikes yesterday?", date(2025, 3, 11), date(2025, 3, 12)),
    ("What is new today?", date(2025, 3, 12), date(2025, 3, 12)),
    ("What changed since March?", date(2025, 3, 1), None),
    ("What changed since April?", date(2024, 4, 1), None),  # April 2025 has not begun: the last April
    ("What was said in May?", date(2024, 5, 1), date(2024, 5, 31)),
    ("Attacks in the past two weeks", date(2025, 2, 26), date(2025, 3, 12)),
    ("Attacks over the last 3 days", date(2025, 3, 9), date(2025, 3, 12)),
    ("Strikes this month", date(2025, 3, 1), date(2025, 3, 12)),
    ("Strikes this week", date(2025, 3, 10), date(2025, 3, 12)),
    ("Who won last year?", date(2024, 1, 1), date(2024, 12, 31)),
    ("What happened last month?", date(2025, 2, 1), date(2025, 2, 28)),
    ("Deals between March and May 2024", date(2024, 3, 1), date(2024, 5, 31)),
    ("News from 2024-01-01 to 2024-01-31", date(2024, 1, 1), date(2024, 1, 31)),
    ("Was it before 2024?", None, date(2023, 12, 31)),
    ("What followed after December 2024?", date(2025, 1, 1), None),
    ("Sanctions until June 2024", None, date(2024, 6, 30)),
])
def test_date_phrases_relative_to_today(question: str, since: date | None, until: date | None) -> None:
    assert dates(question) == (since, until)


@pytest.mark.parametrize("question", [
    "What may happen to the ceasefire?",          # the verb, not the month
    "What happened on the last day of the summit?",
    "How did the 2024 election go?",              # a bare year names the event, not the publication
    "Who is in the Hall of Fame class of 2020?",
    "How many missiles hit Kyiv on Tuesday?",     # weekdays date events inside an article
    "What did USA Today report?",                 # a name, not a date
    "Who fired 100 missiles?",
])
def test_phrases_that_are_not_date_filters(question: str) -> None:
    assert dates(question) == (None, None)


def test_date_phrases_are_removed_from_the_question() -> None:
    assert infer_filters("How many missiles hit Kyiv on 2 January 2024?", TODAY, [])[1] == "How many missiles hit Kyiv?"
    assert infer_filters("What happened in Kyiv last week?", TODAY, [])[1] == "What happened in Kyiv?"
    assert infer_filters("Any news, yesterday?", TODAY, [])[1] == "Any news?"
    assert infer_filters("Oreshnik missile", TODAY, [])[1] == "Oreshnik missile"
    assert infer_filters("in 2023", TODAY, [])[1] == "in 2023"  # nothing would be left: the question stays


def test_sources_named_in_the_question() -> None:
    def named(question: str) -> tuple[str, ...]:
        return infer_filters(question, TODAY, SOURCES)[0].sources

    assert named("What did ZeroHedge report about Kyiv?") == ("www.zerohedge.com",)
    assert named("according to the Guardian, who won?") == ("The Guardian",)
    assert named("What did Reuters and AP say in December 2024?") == ("Reuters", "AP")
    assert named("What did USA Today say today?") == ("USA Today",)
    assert named("Did the ap report it?") == ()  # two-letter names only as written
    assert named("Who guards the border?") == ()  # "Guardian" is not a substring match
    filters, question = infer_filters("What did Reuters say?", TODAY, SOURCES)
    assert question == "What did Reuters say?"  # source names stay in the question
    assert source_aliases("edition.cnn.com") == ["edition.cnn.com", "cnn"]
    assert source_aliases("bbc.co.uk") == ["bbc.co.uk", "bbc"]


def test_inferred_filters_steer_real_retrieval(indexer: Indexer, news_dir: Path) -> None:
    """Both sample articles are about missiles on Kyiv; the date in the question picks one."""
    indexer.sync([news_dir])
    r = Retriever(indexer.settings, indexer.store, indexer.embedder)
    for question, expected in (("How many missiles hit Kyiv in December 2024?", "putin-duel"),
                               ("How many missiles hit Kyiv on 2 January 2024?", "kyiv-100"),
                               ("How many missiles hit Kyiv last week?", None)):
        filters, cleaned = infer_filters(question, date(2024, 12, 27), r.known_sources())
        hits = r.search(cleaned, k=10, filters=filters)
        if expected is None:  # 16-22 December 2024 holds the Putin article
            assert {Path(p.origin).name[:10] for p in hits} == {"putin-duel"}
        else:
            assert hits and {Path(p.origin).name[:len(expected)] for p in hits} == {expected}
