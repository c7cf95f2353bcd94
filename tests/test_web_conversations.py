"""Saved conversations, streaming, Stop and Regenerate in the web chat.

Unit tests for ``assistant.web.conversations`` (the stored form, the list's operations, hostile stored data) and for
the page's answer handler; then end to end: a real ``newsdesk serve`` in LLM mode against the scripted
OpenAI-compatible server on loopback, driven by headless Chromium (``test_web``'s browser fixture).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import test_web
from openai_server import Recorded, Reply, ScriptedOpenAI
from test_web import SAMPLE, ask, new_chat, shot, wait_for
from web_server import WebServer

from assistant.types import Answer, Citation, Conflict, Delta, StoryMember
from assistant.web import conversations as conv
from assistant.web.page import STOPPED, WebApp

browser = test_web.browser

KYIV = "How many missiles did Russia fire at Kiev?"
DUEL = "What did Putin propose as a high-tech duel?"


def answer(text: str = "About 100 missiles hit Kyiv [1].", notice: str | None = None) -> Answer:
    cite = Citation(1, "a1", "Kyiv <b>hit</b>", "Reuters", "2024-01-02", "https://example.org/k", "Russia fired about "
                    "100 missiles at Kyiv on Tuesday.", 0, 52, 0.8, ((13, 30),),
                    (StoryMember("a2", "AP", "Kyiv hit again", "", "2024-01-03"),))
    return Answer("How many missiles hit Kyiv?", text, [cite], False, "offline", notice,
                  conflicts=[Conflict("missiles fired", (("100", (1,)), ("about 90", (2,))))])


# -- the stored form and the list ------------------------------------------------------------------------------------


def test_conversations_round_trip_through_the_browsers_json() -> None:
    book = conv.save(conv.Book(), "", [("How many missiles hit Kyiv?", answer(notice="LLM failed."))], {0: "Like"},
                     now=100.0)
    raw = json.loads(json.dumps(conv.dump(book)))  # what localStorage holds
    again = conv.load(raw)
    assert again.open == book.open and len(again.conversations) == 1
    got = again.conversations[0]
    assert got.title == "How many missiles hit Kyiv?" and got.votes == {0: "Like"} and got.updated == 100.0
    question, restored = got.turns[0]
    original = answer(notice="LLM failed.")
    assert question == "How many missiles hit Kyiv?"
    assert (restored.text, restored.notice, restored.mode, restored.refused, restored.question) == (
        original.text, original.notice, original.mode, original.refused, original.question)
    assert restored.conflicts == original.conflicts
    cite, want = restored.citations[0], original.citations[0]
    assert (cite.n, cite.title, cite.text, cite.quotes, cite.url, cite.published) == (
        want.n, want.title, want.text, want.quotes, want.url, want.published)
    assert [(m.source, m.title, m.published) for m in cite.also_reported_by] == [("AP", "Kyiv hit again", "2024-01-03")]


def test_list_is_newest_first_and_capped_oldest_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    book = conv.Book()
    for i in range(conv.MAX_CONVERSATIONS + 3):
        book = conv.save(book, "", [(f"question {i}", answer())], {}, now=float(i))
    titles = [t for t, _ in conv.choices(book)]
    assert len(titles) == conv.MAX_CONVERSATIONS
    assert titles[0] == f"question {conv.MAX_CONVERSATIONS + 2}" and titles[-1] == "question 3"
    oldest = book.conversations[-1]
    book = conv.save(book, oldest.id, [*oldest.turns, ("again", answer())], {}, now=1000.0)  # used: to the top
    assert book.conversations[0].id == oldest.id and book.open == oldest.id
    assert book.conversations[0].title == "question 3", "the title stays its first question's"
    # the size cap: only what fits is kept, the one just saved always
    cap = 4 * book.conversations[1].size
    monkeypatch.setattr(conv, "MAX_STORE_CHARS", cap)
    book = conv.save(book, "", [("newest", answer())], {}, now=2000.0)
    assert [t for t, _ in conv.choices(book)] == ["newest", "question 3", f"question {conv.MAX_CONVERSATIONS + 2}"]
    assert sum(c.size for c in book.conversations) <= cap
    monkeypatch.setattr(conv, "MAX_STORE_CHARS", 10)
    assert [t for t, _ in conv.choices(conv.save(book, "", [("huge", answer())], {}))] == ["huge"]


def test_rename_delete_open_and_titles() -> None:
    book = conv.save(conv.Book(), "", [("  first\n question  ", answer())], {}, now=1.0)
    first = book.open
    book = conv.save(conv.opened(book, ""), "", [("second", answer())], {}, now=2.0)
    assert [t for t, _ in conv.choices(book)] == ["second", "first question"]
    book = conv.rename(book, first, "  Kyiv   strikes ", now=3.0)
    assert conv.choices(book)[0] == ("Kyiv strikes", first)
    assert conv.rename(book, first, "   ").conversations[0].title == "first question", "empty: its question again"
    book = conv.opened(book, first)
    assert book.open == first and conv.opened(book, "gone").open == ""
    book = conv.delete(book, first)
    assert book.open == "" and [t for t, _ in conv.choices(book)] == ["second"]
    long = conv.title_for("word " * 40)
    assert len(long) <= conv.MAX_TITLE_CHARS and long.endswith("…") and not long.endswith(" …")
    assert conv.save(conv.Book(), "", [], {}).conversations == [], "an empty conversation is not saved"


def good_raw() -> dict[str, Any]:
    return json.loads(json.dumps(conv.dump(conv.save(conv.Book(), "", [("q", answer())], {0: "Dislike"}, now=5.0))))


@pytest.mark.parametrize("spoil", [
    lambda c, t, a, ci: c.update(id="../../etc"),
    lambda c, t, a, ci: c.update(updated="yesterday"),
    lambda c, t, a, ci: c.update(turns="not a list"),
    lambda c, t, a, ci: t.update(question=["not", "text"]),
    lambda c, t, a, ci: a.update(refused="no"),
    lambda c, t, a, ci: a.update(answer=None),
    lambda c, t, a, ci: ci.update(n=True),
    lambda c, t, a, ci: ci.update(quotes=[[5, 10_000]]),
    lambda c, t, a, ci: ci.update(quotes=[[9, 3]]),
    lambda c, t, a, ci: ci.update(score=float("nan")),
    lambda c, t, a, ci: ci.update(also_reported_by=[{"source": 1}]),
    lambda c, t, a, ci: a.update(conflicts=[{"what": "killed", "values": [{"value": "3", "citations": ["1"]}]}]),
])
def test_stored_data_that_does_not_parse_is_dropped(spoil: Any) -> None:
    """localStorage is the reader's to edit: a spoiled turn goes (and its conversation with it when it was the only
    one); a good conversation beside it stays."""
    raw = good_raw()
    c = raw["conversations"][0]
    spoil(c, c["turns"][0], c["turns"][0]["answer"], c["turns"][0]["answer"]["citations"][0])
    good = good_raw()["conversations"][0]
    good["id"] = "kept"
    raw["conversations"].append(good)
    book = conv.load(raw)
    assert [c.id for c in book.conversations] == ["kept"]
    assert book.conversations[0].votes == {0: "Dislike"}


@pytest.mark.parametrize("raw", [None, "text", [], {"version": 99, "conversations": []}, {"version": 1},
                                 {"version": 1, "conversations": [None, 3, "x", {"id": "a"}], "open": {"x": 1}}])
def test_garbage_in_the_browser_loads_as_an_empty_book(raw: Any) -> None:
    assert conv.load(raw) == conv.Book()


def test_duplicate_ids_keep_one_and_the_open_one_must_exist() -> None:
    raw = good_raw()
    raw["conversations"].append(json.loads(json.dumps(raw["conversations"][0])))
    raw["open"] = "nope"
    book = conv.load(raw)
    assert len(book.conversations) == 1 and book.open == ""


def test_browser_secret_is_created_once_owner_only(tmp_path: Path) -> None:
    secret = conv.browser_secret(tmp_path / "home")
    path = tmp_path / "home" / conv.SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert conv.browser_secret(tmp_path / "home") == secret and len(secret) >= 32
    assert conv.storage_key(secret) != conv.storage_key(conv.browser_secret(tmp_path / "other"))


# -- the page's answer handler ---------------------------------------------------------------------------------------


class ScriptedAssistant:
    """Stands in for ``Assistant``: streams the given pieces, ``hold`` seconds apart, then the answer."""

    mode = "offline"

    def __init__(self, pieces: list[str], hold: float = 0.0) -> None:
        self.pieces, self.hold = pieces, hold
        self.closed = False

    def today(self) -> Any:
        from datetime import date

        return date(2026, 12, 2)

    def ask_stream(self, question: str, *args: Any) -> Iterator[Delta | Answer]:
        try:
            for i, piece in enumerate(self.pieces):
                if i and self.hold:
                    time.sleep(self.hold)
                yield Delta(piece)
            time.sleep(self.hold)
            yield Answer(question, "".join(self.pieces), [], False, "offline")
        except GeneratorExit:
            self.closed = True
            raise


def web_app(settings: Any, assistant: ScriptedAssistant) -> WebApp:
    return WebApp(settings, assistant=assistant, indexer=SimpleNamespace())  # type: ignore[arg-type]


def chats(updates: list[tuple[Any, ...]]) -> list[str]:
    """The answer's text in every update that showed the chat."""
    return [u[0][-1]["content"] for u in updates if isinstance(u[0], list)]


def test_every_piece_of_an_answer_is_shown_as_it_comes(settings: Any) -> None:
    sentences = ["Russia fired 100 missiles [1]. ", "Most were shot down [2]. ", "Kyiv was hit hardest [1]."]
    updates = list(web_app(settings, ScriptedAssistant(sentences, hold=0.15)).respond(KYIV, [], "", "", None))
    shown = chats(updates)
    # the question with "Searching…", one update per sentence, the complete answer
    assert len(shown) == 1 + len(sentences) + 1, shown
    for n in range(1, len(sentences) + 1):
        assert shown[n].count("[") == n, f"update {n} should hold {n} sentence(s): {shown[n]!r}"
    assert isinstance(updates[-1][2], list) and len(updates[-1][2]) == 1, "the answer joins the conversation"


def test_pieces_that_come_together_are_shown_in_one_update(settings: Any) -> None:
    """The offline answer's sentences come within milliseconds of each other: one page update, not one apiece."""
    sentences = ["Russia fired 100 missiles [1]. ", "Most were shot down [2]. ", "Kyiv was hit hardest [1]."]
    updates = list(web_app(settings, ScriptedAssistant(sentences)).respond(KYIV, [], "", "", None))
    shown = chats(updates)
    assert len(shown) < 1 + len(sentences) + 1, shown
    assert "Searching" in shown[0] and shown[-1].count("[") == 3 and len(shown) >= 2, shown


def test_closing_the_handler_stops_the_assistant_and_keeps_the_partial_answer(settings: Any) -> None:
    """What Gradio's ``/cancel`` does to the generator: ``close`` at a yield. ``ask_stream`` is closed in its thread
    and ``settle`` keeps the text so far as the turn, marked stopped."""
    assistant = ScriptedAssistant(["One [1]. ", "Two. ", "Three. ", "Four."], hold=0.3)
    app = web_app(settings, assistant)
    handler = app.respond(KYIV, [], "", "", None, key="s1")
    while not any("One" in text for text in chats([next(handler)])):
        pass
    handler.close()
    deadline = time.monotonic() + 5
    while not assistant.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert assistant.closed, "ask_stream was not closed"
    chat, panel, state, book, saved, *_ = app.settle(conv.Book(), [], {}, SimpleNamespace(session_hash="s1"))
    question, stopped = state[0]
    assert question == KYIV and stopped.text == "One [1]. " and stopped.notice == STOPPED and not stopped.citations
    assert saved["conversations"][0]["turns"][0]["answer"]["notice"] == STOPPED
    assert book.open == saved["open"] != ""
    assert app.settle(book, state, {}, SimpleNamespace(session_hash="s1"))[2] == state, "kept once only"


# -- end to end: LLM mode against the scripted server, in Chromium ----------------------------------------------------

LLM_ANSWER = "Russia fired about 100 missiles at Kyiv [1]."


def llm_reply(request: Recorded) -> Reply:
    """The answer for streamed calls; follow-up rewrites (not streamed) get nothing, so the rule-based one is used."""
    return Reply(LLM_ANSWER) if request.body.get("stream") else Reply("")


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(default=llm_reply) as llm:
        yield llm


def llm_env(scripted: ScriptedOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": scripted.base_url, "NEWSDESK_LLM_MODEL": "test-model", "OPENAI_API_KEY": "sk-test",
            "NEWSDESK_LLM_RETRIES": "0", "NEWSDESK_LLM_TIMEOUT": "20", "NEWSDESK_TODAY": "2026-12-02"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedOpenAI) -> Iterator[WebServer]:
    base = tmp_path_factory.mktemp("conversations")
    news = base / "news"
    shutil.copytree(SAMPLE, news)
    srv = WebServer(base / "home", index=[news], env=llm_env(scripted))
    try:
        yield srv.wait_ready()
    finally:
        srv.stop()


def bot_texts(driver: Any) -> list[str]:
    return [e.text for e in driver.find_elements("css selector", "#nd-chat [data-testid='bot']")]


def listed(driver: Any) -> list[tuple[str, bool]]:
    """The sidebar's conversations: (title, open?) from the top."""
    return [(e.get_attribute("textContent").strip(), e.find_element("css selector", "input").is_selected())
            for e in driver.find_elements("css selector", "#nd-conversations label")]


def open_sidebar(driver: Any) -> None:
    if not driver.find_element("id", "nd-conv-title").is_displayed():
        driver.find_element("css selector", "button.toggle-button").click()
        wait_for(driver, lambda d: d.find_element("id", "nd-conv-title").is_displayed(), "the sidebar to open")


def reload(driver: Any) -> None:
    driver.refresh()
    wait_for(driver, lambda d: d.find_elements("css selector", "#nd-question textarea"), "the page again")


def stored(driver: Any, server: WebServer) -> str:
    """The browser's copy as localStorage holds it (encrypted), under the key the server's data home gives."""
    key = conv.storage_key(conv.browser_secret(server.home))
    return driver.execute_script("return localStorage.getItem(arguments[0]) || ''", key)


def test_conversations_are_kept_across_reloads_and_listed(browser: Any, server: WebServer) -> None:
    first = ask(browser, KYIV)
    assert LLM_ANSWER.split(" [")[0] in first["answer"].text
    wait_for(browser, lambda d: [t for t, _ in listed(d)] == [KYIV], "the conversation in the list")
    new_chat(browser)
    ask(browser, DUEL)
    wait_for(browser, lambda d: listed(d) == [(DUEL, True), (KYIV, False)], "both conversations, latest first")
    before = stored(browser, server)
    assert before and "Putin" not in before, "the browser's copy is missing or not encrypted"
    browser.find_elements("css selector", "#nd-chat button[aria-label='Like']")[-1].click()
    wait_for(browser, lambda d: stored(d, server) != before, "the vote saved in the browser")

    reload(browser)
    wait_for(browser, lambda d: listed(d) == [(DUEL, True), (KYIV, False)], "the list after the reload")
    wait_for(browser, lambda d: len(bot_texts(d)) == 1, "the open conversation's answer after the reload")
    assert browser.find_elements("css selector", "#nd-chat [data-testid='user']")[0].text == DUEL
    group = browser.find_element("id", "nd-turn-1")  # its sources panel, rebuilt from the browser's copy
    assert group.find_elements("css selector", ".nd-source"), "no sources after the reload"
    assert browser.find_elements("css selector", "#nd-chat a.nd-cite"), "the [1] link is not restored"
    assert browser.find_elements("css selector", "#nd-chat button[aria-label='Liked']"), "the vote mark is lost"
    open_sidebar(browser)
    shot(browser, "conversations-after-reload")


def test_open_rename_delete_and_new(browser: Any) -> None:
    open_sidebar(browser)
    older = [e for e in browser.find_elements("css selector", "#nd-conversations label")
             if e.get_attribute("textContent").strip() == KYIV][0]
    older.click()
    wait_for(browser, lambda d: [e.text for e in d.find_elements("css selector", "#nd-chat [data-testid='user']")]
             == [KYIV], "the older conversation to open")
    assert browser.find_element("css selector", "#nd-conv-title input").get_attribute("value") == KYIV

    title = browser.find_element("css selector", "#nd-conv-title input")
    title.clear()
    title.send_keys("Kyiv strikes <b>Jan</b>")
    browser.find_element("id", "nd-conv-rename").click()
    wait_for(browser, lambda d: listed(d) == [("Kyiv strikes <b>Jan</b>", True), (DUEL, False)],
             "the renamed conversation on top, its title as text")
    reload(browser)
    wait_for(browser, lambda d: listed(d) == [("Kyiv strikes <b>Jan</b>", True), (DUEL, False)],
             "the new title after a reload")
    assert [e.text for e in browser.find_elements("css selector", "#nd-chat [data-testid='user']")] == [KYIV]

    open_sidebar(browser)
    browser.find_element("id", "nd-conv-delete").click()
    wait_for(browser, lambda d: listed(d) == [(DUEL, False)], "the deleted conversation gone")
    assert not bot_texts(browser) and not browser.find_elements("id", "nd-turn-1")
    shot(browser, "conversations-after-delete")
    reload(browser)
    wait_for(browser, lambda d: listed(d) == [(DUEL, False)], "still deleted after a reload")
    assert not bot_texts(browser)


def test_stop_ends_a_streaming_answer_and_the_model_call(browser: Any, scripted: ScriptedOpenAI) -> None:
    new_chat(browser)
    words = [f"word{i} " for i in range(300)]
    scripted.script(Reply(pieces=words, interval=0.05))  # 15 s unless stopped
    before = len(scripted.requests)
    box = browser.find_element("css selector", "#nd-question textarea")
    box.send_keys(KYIV)
    browser.find_element("id", "nd-ask").click()
    wait_for(browser, lambda d: bot_texts(d) and "word10" in bot_texts(d)[-1], "the answer to stream")
    wait_for(browser, lambda d: d.find_element("id", "nd-stop").is_enabled(), "Stop to be enabled")
    started = time.monotonic()
    browser.find_element("id", "nd-stop").click()
    wait_for(browser, lambda d: "Stopped" in bot_texts(d)[-1], "the answer marked stopped", timeout=10)
    took = time.monotonic() - started
    request = scripted.requests[before]
    assert request.ended.wait(5), "the model's stream is still open"
    assert request.client_gone and request.pieces_sent < len(words), (request.pieces_sent, request.client_gone)
    shown = bot_texts(browser)[-1]
    time.sleep(1.0)
    assert bot_texts(browser)[-1] == shown, "the answer kept growing after Stop"
    assert "word10" in shown and "word299" not in shown
    assert not browser.find_element("id", "nd-stop").is_enabled()
    panel = browser.find_elements("css selector", "#nd-sources details.nd-turn")[0].text
    assert "No sources. Stopped before the answer was complete" in panel and "nothing in the articles" not in panel
    shot(browser, "stopped-answer")
    assert took < 5, f"Stop took {took:.1f} s"


def test_regenerate_replaces_the_last_answer(browser: Any, scripted: ScriptedOpenAI) -> None:
    """After the stopped answer: Regenerate asks the same question again and its answer takes the stopped one's
    place, saved as such (a reload shows it)."""
    assert "Stopped" in bot_texts(browser)[-1], "runs after the Stop test"
    scripted.script(Reply("A fresh answer: about 100 missiles [1]."))
    before = len(scripted.requests)
    wait_for(browser, lambda d: d.find_element("id", "nd-regenerate").is_enabled(), "Regenerate to be enabled")
    browser.find_element("id", "nd-regenerate").click()
    wait_for(browser, lambda d: "A fresh answer" in bot_texts(d)[-1], "the regenerated answer")
    assert len(bot_texts(browser)) == 1 and "Stopped" not in bot_texts(browser)[-1]
    assert KYIV in scripted.requests[before].text(), "the same question was asked again"
    wait_for(browser, lambda d: d.find_elements("css selector", "#nd-turn-1 .nd-source"), "the new answer's sources")
    reload(browser)
    wait_for(browser, lambda d: bot_texts(d) and "A fresh answer" in bot_texts(d)[-1], "the regenerated answer kept")
    shot(browser, "regenerated-answer")


def test_conversations_survive_a_server_restart(browser: Any, server: WebServer, scripted: ScriptedOpenAI,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Same data home, same address: the key in the data home still opens what the browser kept (Gradio's default,
    a random key per process, would show nothing). Last: it stops the module's server."""
    import web_server

    wait_for(browser, lambda d: "A fresh answer" in bot_texts(d)[-1], "the conversation of the tests before")
    kept = listed(browser)
    assert len(kept) == 2
    server.stop()
    monkeypatch.setattr(web_server, "free_port", lambda: server.port)  # same origin: same localStorage
    again = WebServer(server.home, index=[], env=llm_env(scripted))
    try:
        again.wait_ready()
        reload(browser)
        wait_for(browser, lambda d: listed(d) == kept, "the list after the restart")
        wait_for(browser, lambda d: bot_texts(d) and "A fresh answer" in bot_texts(d)[-1], "the open conversation")
    finally:
        again.stop()
