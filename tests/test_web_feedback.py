"""Votes, copy and download in the web chat, end to end: a real ``newsdesk serve`` and headless Chromium.

The server and browser fixtures are ``test_web``'s (one of each for this module); votes and downloads are driven from
the keyboard where the brief asks for it (Tab to reach, Enter/Space to press).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import test_web
from test_web import KYIV_TITLE, ask, normalise, shot, wait_for
from web_server import WebServer

from assistant.cli import main
from assistant.feedback import FeedbackLog

server = test_web.server
browser = test_web.browser

QUESTION = "How many missiles did Russia fire at Kiev?"


def active(driver: Any) -> Any:
    return driver.switch_to.active_element


def tab_to(driver: Any, matches: str, backwards: bool = False, limit: int = 40) -> Any:
    """Presses Tab (Shift+Tab) until the focused element matches the CSS selector; returns it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        chain = ActionChains(driver)
        if backwards:
            chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
        else:
            chain.send_keys(Keys.TAB)
        chain.perform()
        if driver.execute_script("return document.activeElement.matches(arguments[0])", matches):
            return active(driver)
    raise AssertionError(f"{matches} not reached with {limit} presses of Tab")


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def feedback_lines(server: WebServer) -> list[dict[str, Any]]:
    path = server.home / "feedback.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def comment_row_shown(driver: Any) -> bool:
    return any(e.is_displayed() for e in driver.find_elements("id", "nd-feedback-row"))


def test_votes_are_logged_with_an_optional_comment_and_counted(browser: Any, server: WebServer,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.webdriver.common.keys import Keys

    before = len(feedback_lines(server))
    got = ask(browser, QUESTION)
    cited = [s["n"] for s in got["sources"]]

    # up, from the keyboard: Shift+Tab from the question box reaches the latest answer's thumb, Enter votes
    browser.find_element("css selector", "#nd-question textarea").click()
    like = tab_to(browser, "#nd-chat button[aria-label='Like']", backwards=True)
    assert like.get_attribute("aria-label") == "Like"
    press(browser, Keys.ENTER)
    wait_for(browser, comment_row_shown, "the comment box after the vote")
    assert "a thumbs up" in browser.find_element("id", "nd-feedback").text
    shot(browser, "feedback-comment-box")
    tab_to(browser, "#nd-comment-skip")  # past the comment box and Send
    press(browser, " ")
    wait_for(browser, lambda d: len(feedback_lines(server)) == before + 1, "the up vote in feedback.jsonl")
    wait_for(browser, lambda d: "saved" in d.find_element("id", "nd-feedback").text, "the thanks line")
    assert not comment_row_shown(browser)

    # down, with a comment sent with Enter
    browser.find_elements("css selector", "#nd-chat button[aria-label='Dislike']")[-1].click()
    wait_for(browser, comment_row_shown, "the comment box after the down vote")
    box = browser.find_element("css selector", "#nd-comment textarea")
    box.send_keys("Misses the hypersonic missiles", Keys.ENTER)
    wait_for(browser, lambda d: len(feedback_lines(server)) == before + 2, "the down vote in feedback.jsonl")
    shot(browser, "feedback-saved")

    up, down = feedback_lines(server)[before:]
    assert (up["vote"], up["comment"]) == ("up", "")
    assert (down["vote"], down["comment"]) == ("down", "Misses the hypersonic missiles")
    for entry in (up, down):
        assert entry["question"] == QUESTION and entry["standalone_question"]
        assert "100 missiles" in entry["answer"] and entry["mode"] == "offline"
        assert [c["n"] for c in entry["citations"]] == cited
        assert set(entry["citations"][0]) == {"n", "title", "source", "published", "url"}
        assert entry["citations"][0]["title"] == KYIV_TITLE and entry["citations"][0]["published"] == "2024-01-02"
        assert entry["time"].endswith("Z")
    time.sleep(0.5)
    assert len(feedback_lines(server)) == before + 2, "one line per vote"

    counts = FeedbackLog(server.home).counts()
    assert main(["--home", str(server.home), "status"]) == 0
    assert f"feedback:        {counts.up} up, {counts.down} down" in capsys.readouterr().out
    assert counts.down >= 1 and counts.up >= 1


def test_conversation_downloads_as_markdown_and_copies_with_sources(browser: Any, server: WebServer,
                                                                    tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    got = ask(browser, QUESTION)
    marks = [normalise(m) for s in got["sources"] for m in s["marks"] if m.strip()]
    assert marks
    pressed = browser.find_elements("css selector", "#nd-chat button[aria-label='Disliked']")
    assert len(pressed) == 1, "the earlier answer's thumb stays pressed under a new answer"

    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.execute_script("document.getElementById('nd-clear').focus()")
    tab_to(browser, "#nd-download", limit=3)
    press(browser, Keys.ENTER)
    target = tmp_path / "newsdesk-conversation-2026-12-02.md"
    wait_for(browser, lambda d: target.exists() and not list(tmp_path.glob("*.crdownload")), "the download")
    md = target.read_text(encoding="utf-8")
    plain = normalise(md.replace("\\", ""))
    assert md.startswith("# newsdesk conversation, 2026-12-02")
    turns = len(browser.find_elements("css selector", "#nd-sources details.nd-turn"))
    assert [f"## Q{n}:" in md for n in range(1, turns + 1)] == [True] * turns
    assert f"## Q{turns}: {QUESTION}" in md and "Sources:" in md and KYIV_TITLE in md and "2024-01-02" in md
    for mark in marks:
        assert mark in plain, f"the quoted passage {mark!r} is not in the download"

    # copy: the button in the answer's sources group puts the answer and its sources on the clipboard
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.url,
                                                         "permissions": ["clipboardReadWrite",
                                                                         "clipboardSanitizedWrite"]})
    button = got["group"].find_element("css selector", "button.nd-copy")
    browser.execute_script("arguments[0].focus()", button)
    press(browser, Keys.ENTER)
    wait_for(browser, lambda d: button.text == "Copied", "the copy to be confirmed")
    copied = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('ERROR ' + e))")
    assert not copied.startswith("ERROR"), copied
    answer, sources = copied.split("\n\nSources:\n\n")
    assert normalise(answer.replace("\\", "")) == normalise(got["answer"].text)
    assert f"- [1] **{KYIV_TITLE}**" in sources
    assert all(mark in normalise(sources.replace("\\", "")) for mark in marks)
    shot(browser, "copy-and-download")


def test_a_vote_left_without_comment_is_written_when_the_tab_goes(browser: Any, server: WebServer) -> None:
    before = len(feedback_lines(server))
    ask(browser, QUESTION)
    browser.find_elements("css selector", "#nd-chat button[aria-label='Like']")[-1].click()
    wait_for(browser, comment_row_shown, "the comment box after the vote")
    time.sleep(0.3)
    assert len(feedback_lines(server)) == before, "held for its comment"
    browser.refresh()  # the page's session ends: its waiting vote is written without a comment
    wait_for(browser, lambda d: len(feedback_lines(server)) == before + 1, "the vote written when the tab went")
    entry = feedback_lines(server)[-1]
    assert (entry["vote"], entry["comment"], entry["question"]) == ("up", "", QUESTION)
    wait_for(browser, lambda d: d.find_elements("css selector", "#nd-question textarea"), "the page again")
