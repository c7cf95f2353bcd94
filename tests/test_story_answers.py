"""One story, many reports (issue 15), as a user sees it: a wire story re-published by other outlets fills one
place in the results, cited once from its earliest copy, with the others named (``also_reported_by``) in search, CLI
text and JSON (the web panel and the API: ``test_web``); a question filtered to one outlet gets that outlet's copy.
Two outlets' different death tolls for one strike are pointed out with both citations, offline and from a model
(``conflicts``); tolls of different strikes are not. The figure rules themselves: ``test_conflicts``."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from openai_server import Reply, ScriptedOpenAI
from pydantic import SecretStr

from assistant.assistant import Assistant
from assistant.cli import main
from assistant.settings import Settings
from index import Indexer

ROOT = Path(__file__).resolve().parent.parent
KYIV = (ROOT / "data" / "sample" / "kyiv-100-missiles-2024-01-02.txt").read_text(encoding="utf-8").split("\n", 1)[1]
PUTIN = (ROOT / "data" / "sample" / "putin-duel-kyiv-strike-2024-12-20.txt").read_text(encoding="utf-8")

ORIGINAL = {"id": "ft-kyiv", "title": "Russia Pounds Kiev With 100 Missiles As Air War Escalates",
            "source": "Frontline Times", "published": "2024-01-02", "url": "https://frontline.example/kyiv-100",
            "text": KYIV}
COPIES = [
    {"id": "wire-kyiv", "title": "Kyiv hit by massive missile barrage, five dead", "source": "Wire Service",
     "published": "2024-01-03", "url": "https://wire.example/kyiv",
     "text": "By Anna Lee\n\nKYIV (Wire) - " + KYIV + "\n\nReporting by Anna Lee; editing by Tom Ross."},
    {"id": "daily-kyiv", "title": "Hypersonic missiles rain on Ukrainian capital", "source": "Daily Courier",
     "published": "2024-01-04", "url": "https://courier.example/kyiv",
     "text": KYIV.split("\n", 1)[1] + "\n\nSubscribe to our newsletter for the latest updates from Ukraine."},
]
OTHER = {"id": "putin-duel", "title": PUTIN.split("\n", 1)[0], "source": "Frontline Times",
         "published": "2024-12-20", "text": PUTIN.split("\n", 1)[1]}
QUESTION = "How many people were injured when Russia pounded Kiev with 100 missiles?"


@pytest.fixture
def home(settings: Settings, embedder, tmp_path: Path) -> Settings:
    feed = tmp_path / "news" / "articles.jsonl"
    feed.parent.mkdir()
    feed.write_text("".join(json.dumps(a) + "\n" for a in [COPIES[1], OTHER, ORIGINAL, COPIES[0]]), encoding="utf-8")
    Indexer(settings, embedder=embedder).sync([feed.parent])
    return settings


def test_search_keeps_the_earliest_copy_and_names_the_others(home: Settings, embedder) -> None:
    assistant = Assistant(home, embedder=embedder)
    passages = assistant.search("Kiev pounded by ballistic and hypersonic missiles", k=12)
    kyiv = [p for p in passages if p.story == passages[0].story]
    assert {p.source for p in kyiv} == {"Frontline Times"}, "copies of the story are collapsed onto the earliest"
    assert len(kyiv) >= 2, "the kept copy still gives all its matching passages"
    assert [(r.source, r.published) for r in kyiv[0].also_reported_by] == [
        ("Wire Service", "2024-01-03"), ("Daily Courier", "2024-01-04")]
    assert len(passages) == 12, "the places freed by the copies are filled from further down the ranking"
    assert any(p.source == "Frontline Times" and p.story != passages[0].story for p in passages), \
        [(p.article_id, p.story) for p in passages]

    only_wire = assistant.search("Kiev pounded by ballistic and hypersonic missiles", k=3, sources=["Wire Service"])
    assert only_wire and {p.source for p in only_wire} == {"Wire Service"}, "a source asked for gets its own copy"
    assert {r.source for r in only_wire[0].also_reported_by} == {"Frontline Times", "Daily Courier"}


def test_answer_cites_the_story_once(home: Settings, embedder) -> None:
    answer = Assistant(home, embedder=embedder).ask(QUESTION)
    assert not answer.refused and "130" in answer.text
    sources = [c.source for c in answer.citations]
    assert sources.count("Frontline Times") == len(sources), sources
    data = answer.to_json()
    assert data["citations"][0]["also_reported_by"] == [
        {"source": "Wire Service", "title": COPIES[0]["title"], "url": "https://wire.example/kyiv",
         "published": "2024-01-03"},
        {"source": "Daily Courier", "title": COPIES[1]["title"], "url": "https://courier.example/kyiv",
         "published": "2024-01-04"}]


def test_cli_shows_who_else_reported_it(home: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home.home), "ask", QUESTION]) == 0
    sources = capsys.readouterr().out.split("\nSources:\n")[1]
    assert "    also reported by Wire Service, Daily Courier" in sources.splitlines()

    assert main(["--home", str(home.home), "ask", "--json", QUESTION]) == 0
    cited = json.loads(capsys.readouterr().out)["citations"][0]
    assert [r["source"] for r in cited["also_reported_by"]] == ["Wire Service", "Daily Courier"]

    assert main(["--home", str(home.home), "search", "Kiev pounded by hypersonic missiles", "--k", "2"]) == 0
    assert "   also reported by Wire Service, Daily Courier" in capsys.readouterr().out.splitlines()
    assert main(["--home", str(home.home), "search", "Kiev pounded by hypersonic missiles", "--k", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["also_reported_by"][0] == {"source": "Wire Service", "title": COPIES[0]["title"],
                                              "url": "https://wire.example/kyiv", "published": "2024-01-03"}


STRIKE = [
    {"id": "daily-strike", "title": "Missile strike on Kyiv apartment block", "source": "Kyiv Daily",
     "published": "2025-03-10",
     "text": "Russian missiles struck a residential district of Kyiv before dawn on Monday. At least 12 people were "
             "killed in the strike on Kyiv, city officials said. Rescue crews searched the rubble of a nine-storey "
             "building through the morning, and power was cut to several streets."},
    {"id": "wire-strike", "title": "Rescuers dig through rubble after Russian attack", "source": "Capital Wire",
     "published": "2025-03-10",
     "text": "Firefighters in the Ukrainian capital worked for hours after a Russian missile attack on Monday. The "
             "strike on Kyiv killed 15 people, the mayor said on Telegram. Ukraine's air force said it had shot "
             "down most of the missiles fired overnight."},
    {"id": "later-drones", "title": "Drones hit Kyiv suburbs", "source": "Kyiv Daily", "published": "2025-03-24",
     "text": "A drone attack on Kyiv's suburbs on Sunday night killed 3 people and set a warehouse on fire, "
             "regional officials said. Air defences were active for four hours."},
]
TOLL = "How many people were killed in the missile strike on Kyiv on 10 March 2025?"


def indexed(settings: Settings, embedder, folder: Path, articles: list[dict[str, str]]) -> Settings:
    folder.mkdir()
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    Indexer(settings, embedder=embedder).sync([folder])
    return settings.model_copy(update={"today": date(2025, 3, 26)})


@pytest.fixture
def strikes(settings: Settings, embedder, tmp_path: Path) -> Settings:
    return indexed(settings, embedder, tmp_path / "strikes", STRIKE)


def test_disagreeing_tolls_are_pointed_out_with_both_citations(strikes: Settings, embedder) -> None:
    answer = Assistant(strikes, embedder=embedder).ask(TOLL)
    by_source = {c.source: c.n for c in answer.citations}
    assert set(by_source) == {"Kyiv Daily", "Capital Wire"}, answer.text
    values = sorted([(by_source["Kyiv Daily"], "at least 12"), (by_source["Capital Wire"], "15")])
    said = ", ".join(f"{value} [{n}]" for n, value in values)
    assert answer.text.endswith(f"The articles disagree on how many were killed: {said}."), answer.text
    assert answer.to_json()["conflicts"] == [{"what": "killed", "values": [
        {"value": value, "citations": [n]} for n, value in values]}]


def test_a_differing_toll_further_down_is_brought_in(settings: Settings, embedder, tmp_path: Path) -> None:
    """The wire's toll sentence ranks below its other sentences and the daily's toll alone answers: the answer
    still cites the wire's figure beside it rather than show one outlet's toll as the fact."""
    wire = dict(STRIKE[1], text="Firefighters in the Ukrainian capital worked for hours after a Russian missile "
                "attack on Monday. Power lines and water pipes were damaged across three districts, and schools "
                "stayed closed. By evening the toll had reached 15 dead, the city's mayor said.")
    home = indexed(settings, embedder, tmp_path / "buried", [STRIKE[0], wire])
    answer = Assistant(home, embedder=embedder).ask(TOLL)
    assert answer.text == ("At least 12 people were killed in the strike on Kyiv, city officials said. [1] By evening "
                           "the toll had reached 15 dead, the city's mayor said. [2] The articles disagree on how many "
                           "were killed: at least 12 [1], 15 [2].")
    assert [c.source for c in answer.citations] == ["Kyiv Daily", "Capital Wire"]


def test_tolls_of_different_strikes_are_not_flagged(settings: Settings, embedder, tmp_path: Path) -> None:
    """The 10 March missile strike and the 24 March drone attack both answer; their tolls are not a disagreement."""
    two = indexed(settings, embedder, tmp_path / "two", [STRIKE[0], STRIKE[2]])
    answer = Assistant(two, embedder=embedder).ask("How many people were killed in attacks on Kyiv?")
    assert {c.published for c in answer.citations} == {"2025-03-10", "2025-03-24"}, answer.text
    assert "killed 3 people" in answer.text and "At least 12 people were killed" in answer.text
    assert answer.conflicts == [] and "disagree" not in answer.text


def test_a_models_answer_gets_the_disagreement_too(strikes: Settings, embedder) -> None:
    with ScriptedOpenAI() as server:
        def reply(request) -> Reply:
            user = request.messages[-1]["content"]
            numbers = {src: n for n, src in re.findall(r'<passage n="(\d+)"[^>]*source="([^"]*)"', user)}
            return Reply(f"At least 12 people were killed [{numbers['Kyiv Daily']}]; the mayor put the toll at 15 "
                         f"[{numbers['Capital Wire']}].")
        server.default = reply
        llm = strikes.model_copy(update={"openai_base_url": server.base_url, "llm_model": "test-model",
                                         "openai_api_key": SecretStr("sk-test"), "llm_timeout": 5.0})
        answer = Assistant(llm, embedder=embedder).ask(TOLL)
    assert answer.mode == "llm:test-model" and not answer.refused
    assert [c.what for c in answer.conflicts] == ["killed"]
    assert re.search(r"The articles disagree on how many were killed: at least 12 \[1\], 15 \[2\]\.$", answer.text)
