"""Time-aware answers with "today" pinned: dates read against the collection, dates as evidence rather than walls,
bare years as signals, recency, follow-ups keeping their time frame, and date filters explained.

The sample articles are from 2 January and 20 December 2024 and "today" is 2 December 2026, as for a new user; the
generated collection holds the same recurring events (a cup final, a rate decision) in several years.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from assistant import Assistant, Turn
from assistant.dates import DateError, parse_range
from assistant.query import read_question
from index import Indexer

TODAY = date(2026, 12, 2)
JANUARY = "kyiv-100-missiles-2024-01-02"
DECEMBER = "putin-duel-kyiv-strike-2024-12-20"
NEWSDESK = str(Path(sys.executable).parent / "newsdesk")


@pytest.fixture
def sample(indexer: Indexer, news_dir: Path, minilm) -> Assistant:
    indexer.sync([news_dir])
    assistant = Assistant(indexer.settings, store=indexer.store, embedder=minilm)
    assistant.today = lambda: TODAY
    return assistant


def cited(answer) -> set[str]:
    return {Path(c.article_id.removeprefix("file:")).stem for c in answer.citations}


@pytest.mark.parametrize("question, article", [
    ("How many people were killed in the January attack?", JANUARY),
    ("How many missiles hit Kyiv on January 2?", JANUARY),
    ("What did Putin propose in December?", DECEMBER),
])
def test_year_less_dates_mean_the_latest_one_the_collection_has(sample: Assistant, question: str,
                                                                article: str) -> None:
    answer = sample.ask(question)
    assert not answer.refused, answer.text
    assert cited(answer) == {article}, answer.text
    assert answer.notice is None


def test_year_less_date_resolution_against_the_collection() -> None:
    from assistant.published import PublishedDays

    days = PublishedDays.of(["2024-01-02", "2024-12-20", "2019-03-01"])
    frame = read_question("What happened on January 2?", TODAY, [], days)
    assert (frame.since, frame.until, frame.about_period) == (date(2024, 1, 2), date(2024, 1, 3), True)
    assert read_question("Strikes in March?", TODAY, [], days).since == date(2019, 3, 1)
    # No article in any June: the latest June that has begun, as before.
    assert read_question("Strikes in June?", TODAY, [], days).since == date(2026, 6, 1)
    assert read_question("Strikes in June?", TODAY, [], None).since == date(2026, 6, 1)


def test_a_date_is_evidence_not_a_wall(sample: Assistant) -> None:
    """Nothing was published on 2 January 2026; the same day of 2024 answers, and the answer says so."""
    answer = sample.ask("How many missiles hit Kyiv on 2 January 2026?")
    assert not answer.refused and "100 missiles" in answer.text
    assert cited(answer) == {JANUARY}
    assert answer.notice == "No article from 2–3 January 2026 answers this; this is from 2 January 2024."


def test_a_question_about_an_empty_period_names_it_and_the_newest_article(sample: Assistant) -> None:
    answer = sample.ask("What happened last week?")
    assert answer.refused and not answer.citations
    assert "between 2026-11-23 and 2026-11-29" in answer.text
    assert answer.text.endswith("The newest article is from 20 December 2024.")


def test_articles_published_after_today_are_not_there_yet(sample: Assistant) -> None:
    sample.today = lambda: date(2024, 1, 5)
    answer = sample.ask("What did Putin propose?")
    assert DECEMBER not in cited(answer), answer.text


def test_a_when_question_gets_the_date(sample: Assistant) -> None:
    first = sample.ask("What did Putin propose?")
    answer = sample.ask("When was that?", [Turn(first.question, first.text)])
    assert not answer.refused and answer.text.startswith("Reported on 20 December 2024: "), answer.text
    assert cited(answer) == {DECEMBER}


def test_follow_ups_keep_the_conversation_time_frame(sample: Assistant) -> None:
    history: list[Turn] = []
    for question, article in (("How many missiles hit Kyiv on 2 January 2024?", JANUARY),
                              ("And on 20 December?", DECEMBER)):
        answer = sample.ask(question, history)
        assert not answer.refused and cited(answer) == {article}, (question, answer.question, answer.text)
        history.append(Turn(answer.question, answer.text))
    answer = sample.ask("What about Kharkiv?", history)
    assert not answer.refused and "Kharkiv" in answer.text, answer.text


def test_a_question_date_outside_the_user_filter_is_stated(sample: Assistant) -> None:
    answer = sample.ask("How many missiles hit Kyiv in January 2024?", since=date(2024, 12, 1))
    assert answer.notice == ("The question names January 2024, outside the date filter (since 1 December 2024); "
                             "searched within the filter.")
    assert JANUARY not in cited(answer)


def test_filters_read_words_and_refuse_an_empty_range() -> None:
    assert parse_range("last week", "", ("From", "To"), TODAY) == (date(2026, 11, 23), None)
    assert parse_range("2 January 2024", "December 2024", ("From", "To"), TODAY) == (date(2024, 1, 2),
                                                                                       date(2024, 12, 31))
    with pytest.raises(DateError, match=r"From \(2024-12-01\) is after To \(2024-01-31\)"):
        parse_range("2024-12-01", "2024-01-31", ("From", "To"), TODAY)
    with pytest.raises(DateError, match="From needs a date like 2024-12-01"):
        parse_range("banana", "", ("From", "To"), TODAY)


def test_cli_refuses_an_empty_range_and_reads_words(sample: Assistant) -> None:
    env = {"NEWSDESK_HOME": str(sample.settings.home), "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([NEWSDESK, "ask", "What hit Kyiv?", "--since", "2024-12-01", "--until", "2024-01-31"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "--since (2024-12-01) is after --until (2024-01-31)" in bad.stderr
    ok = subprocess.run([NEWSDESK, "ask", "How many missiles hit Kiev?", "--json", "--since", "January 2024",
                         "--until", "January 2024"], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    got = json.loads(ok.stdout)
    assert not got["refused"] and {c["published"] for c in got["citations"]} == {"2024-01-02"}


# -- recurring events in several years ------------------------------------------------------------------------------

FINALS = {2021: ("2021-06-13", "Northport Rovers"), 2022: ("2022-06-12", "Eastbay Wanderers"),
          2023: ("2023-06-11", "Southfield Athletic")}
RATES = {2022: ("2022-09-21", "raised its key rate to 3.25 percent"),
         2023: ("2023-09-20", "held its key rate at 5.5 percent")}


@pytest.fixture
def recurring(indexer: Indexer, tmp_path: Path, minilm) -> Assistant:
    folder = tmp_path / "recurring"
    folder.mkdir()
    for year, (day, winner) in FINALS.items():
        (folder / f"harbour-cup-final-{day}.txt").write_text(
            f"{winner} win the Harbour Cup final\n{winner} won the {year} Harbour Cup final on Saturday, beating "
            f"their rivals 2-1 in front of a sold-out crowd at the harbour stadium. The Harbour Cup final is played "
            f"every June.\n")
    for year, (day, decision) in RATES.items():
        (folder / f"central-bank-{day}.txt").write_text(
            f"Central bank decision\nThe Marovian central bank {decision} on Wednesday, its governor said at a "
            f"press conference in the capital after the September {year} meeting.\n")
    indexer.sync([folder])
    assistant = Assistant(indexer.settings, store=indexer.store, embedder=minilm)
    assistant.today = lambda: TODAY
    return assistant


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_a_bare_year_picks_that_occurrence(recurring: Assistant, year: int) -> None:
    answer = recurring.ask(f"Who won the {year} Harbour Cup final?")
    day, winner = FINALS[year]
    assert not answer.refused and winner in answer.text, answer.text
    assert {c.published for c in answer.citations} == {day}


def test_an_undated_question_about_a_recurring_event_takes_the_latest(recurring: Assistant) -> None:
    answer = recurring.ask("Who won the Harbour Cup final?")
    assert "Southfield Athletic" in answer.text and answer.citations[0].published == "2023-06-11", answer.text
    assert "Eastbay" not in answer.text and "Northport" not in answer.text, answer.text
    assert answer.notice == "The articles tell of this more than once; this is the latest, from 11 June 2023."
    recurring.today = lambda: date(2022, 7, 1)  # asked in July 2022: the 2023 final has not been played
    answer = recurring.ask("Who won the Harbour Cup final?")
    assert "Eastbay Wanderers" in answer.text and answer.citations[0].published == "2022-06-12", answer.text


def test_the_latest_rate_decision_unless_a_year_is_named(recurring: Assistant) -> None:
    latest = recurring.ask("What did the Marovian central bank decide?")
    assert "5.5 percent" in latest.text and latest.citations[0].published == "2023-09-20", latest.text
    named = recurring.ask("What did the Marovian central bank decide in 2022?")
    assert "3.25 percent" in named.text and {c.published for c in named.citations} == {"2022-09-21"}


def test_a_question_about_a_day_lists_what_that_day_held(sample: Assistant) -> None:
    answer = sample.ask("What happened on January 2?")
    assert not answer.refused and answer.text.startswith("- 2 Jan 2024 — "), answer.text
    assert cited(answer) == {JANUARY}


def test_a_timeline_is_ordered_by_publication_date(sample: Assistant) -> None:
    answer = sample.ask("How have the Russian missile strikes on Kyiv developed?")
    lines = answer.text.splitlines()
    assert [line[:14] for line in lines] == ["- 2 Jan 2024 —", "- 20 Dec 2024 "], answer.text
    assert [c.published for c in answer.citations] == ["2024-01-02", "2024-12-20"]


def test_the_examples_through_the_openai_compatible_api(tmp_path: Path) -> None:
    """The same questions a new user asks, over HTTP on loopback, with the server's "today" pinned."""
    import shutil

    import httpx
    from web_server import ROOT, WebServer

    news = tmp_path / "news"
    shutil.copytree(ROOT / "data" / "sample", news)
    server = WebServer(tmp_path / "home", [news], env={"NEWSDESK_TODAY": TODAY.isoformat()}).wait_ready()
    try:
        def chat(*turns: str, **extra: object) -> dict:
            messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
            r = httpx.post(server.url + "/v1/chat/completions", timeout=120,
                           json={"model": "newsdesk", "messages": messages, **extra})
            assert r.status_code == 200, r.text
            return r.json()

        got = chat("What happened on January 2?")
        assert {s["published"] for s in got["sources"]} == {"2024-01-02"}
        assert not got["newsdesk"]["refused"]
        got = chat("How many missiles hit Kyiv on 2 January 2026?")
        assert "100 missiles" in got["choices"][0]["message"]["content"]
        assert got["newsdesk"]["notice"].startswith("No article from 2–3 January 2026 answers this")
        first = chat("What did Putin propose?")
        got = chat("What did Putin propose?", first["choices"][0]["message"]["content"], "When was that?")
        assert got["choices"][0]["message"]["content"].startswith("Reported on 20 December 2024: ")
        r = httpx.post(server.url + "/v1/chat/completions", timeout=60, json={
            "messages": [{"role": "user", "content": "What hit Kyiv?"}], "since": "2024-12-01", "until": "2024-01-31"})
        assert r.status_code == 400 and "'since' (2024-12-01) is after 'until' (2024-01-31)" in r.text
    finally:
        server.stop()


def test_publication_days_follow_the_store_from_manifest_or_snapshot(sample: Assistant, tmp_path: Path,
                                                                     indexer: Indexer) -> None:
    expected = (date(2024, 1, 2), date(2024, 12, 20))
    assert sample.retriever.published_days().days == expected  # before any search: read from the manifest
    sample.retriever.search("missiles", 3)  # builds the keyword snapshot of this generation
    sample.retriever._facts = None
    assert sample.retriever.published_days().days == expected  # from the snapshot's date column
    extra = tmp_path / "later" / "storm-2025-03-05.txt"
    extra.parent.mkdir()
    extra.write_text("Storm hits the coast\nA storm hit the northern coast on Wednesday, closing two ports.\n")
    indexer.sync([extra.parent])
    assert sample.retriever.published_days().days == (*expected, date(2025, 3, 5))
