"""The web chat end to end: a real ``newsdesk serve`` on loopback, driven by headless Chromium through selenium.

One server and one browser for the whole module (the tests build on each other's library: the sample articles,
then an uploaded article, then a hostile one, then a bulk folder re-indexed while the chat answers). Screenshots
land in ``artifacts/screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_server import ROOT, WebServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SAMPLE = ROOT / "data" / "sample"
SHOTS = ROOT / "artifacts" / "screenshots"

NO_BROWSER = ("needs Debian chromium + chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): "
              "scripts/setup.sh --browser installs them")

KYIV_TITLE = "Russia Pounds Kiev With 100 Missiles As Air War Escalates In Deadly Tit-For-Tat"
PUTIN_TITLE = "Putin’s Bold ‘Duel’ Threat Sparks Chaos: Russia’s Deadly Missile Storm Devastates Kyiv"

UPLOADED = """---
title: Lighthouse keepers strike in Port Avelin
date: 2024-05-14
source: Coastal Courier
url: https://courier.example/port-avelin-lighthouse-strike
---
The lighthouse keepers of Port Avelin walked off the job on Monday in a dispute over night-shift pay.

The keepers' union said the harbour authority had cut the night allowance by a third without consultation. The
strike left the Avelin light dark for the first time since 1952, and the coastguard warned fishing boats to keep
clear of the northern reef until the beam is restored.
"""

HOSTILE = {
    # HTML in a JSON title or text is converted to plain text at load time, so literal markup that must reach the
    # page as text comes entity-escaped: the loader turns "&lt;script&gt;" into "<script>", which is then shown.
    "title": "Harbour wall petition &lt;img src=x onerror=\"window.__ndPwned='title'\"&gt; update",
    "published": "2024-05-20",
    "source": "Harbour <b>Watch</b>",
    "url": "javascript:window.__ndPwned='url'",
    "text": (
        "Residents of Port Avelin signed a petition against the harbour wall demolition. "
        "The petition text read &lt;script&gt;window.__ndPwned='script'&lt;/script&gt; and "
        "&lt;img src=x onerror=\"window.__ndPwned='img'\"&gt; in full, the organisers said. "
        "A flyer added [click here](javascript:window.__ndPwned='md') beside the <b>signatures</b>."
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    base = tmp_path_factory.mktemp("web")
    news = base / "news"
    shutil.copytree(SAMPLE, news)
    srv = WebServer(base / "home", index=[news], env={"NEWSDESK_UPLOAD_MAX_MB": "1", "NEWSDESK_TODAY": "2026-12-02"})
    try:
        yield srv.wait_ready()
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server: WebServer) -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(NO_BROWSER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="newsdesk-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1200", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        driver.get(server.url + "/")
        wait_for(driver, lambda d: d.find_elements("css selector", "#nd-question textarea"), "the chat box")
        show_tab(driver, "library")  # Gradio mounts a tab's content when first shown (render_children is ignored)
        wait_for(driver, lambda d: "Articles" in d.find_element("id", "nd-library").text, "the library panel")
        show_tab(driver, "sources")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = 45.0) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)
    except TimeoutException:
        shot(driver, "timeout-" + re.sub(r"\W+", "-", what))
        raise AssertionError(f"timed out waiting for {what}") from None


def show_tab(driver: Any, name: str) -> None:
    """Opens the right column's tab ("sources", "filters" or "library") unless it is open: only its content shows."""
    from selenium.common.exceptions import ElementClickInterceptedException

    def click(d: Any) -> bool:
        button = d.find_element("id", f"nd-tab-{name}-button")
        if button.get_attribute("aria-selected") == "true":
            return True
        d.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", button)
        try:
            button.click()
        except ElementClickInterceptedException:  # the page still laying out just after it loaded
            return False
        return True

    wait_for(driver, click, f"the {name} tab's button")
    wait_for(driver, lambda d: d.find_element("id", f"nd-tab-{name}").is_displayed(), f"the {name} tab")


def shot(driver: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def answers(driver: Any) -> list[Any]:
    return driver.find_elements("css selector", "#nd-chat .message.bot, #nd-chat [data-testid='bot']")


def ask(driver: Any, question: str) -> dict[str, Any]:
    """Types a question, waits for the complete answer; returns the turn number, the answer and its sources."""
    turn = len(driver.find_elements("css selector", "#nd-sources details.nd-turn")) + 1
    box = driver.find_element("css selector", "#nd-question textarea")
    box.clear()
    box.send_keys(question)
    driver.find_element("id", "nd-ask").click()
    group = wait_for(driver, lambda d: d.find_elements("id", f"nd-turn-{turn}"), f"the answer to {question!r}")[0]
    show_tab(driver, "sources")
    bots = driver.find_elements("css selector", "#nd-chat [data-testid='bot']")
    sources = [{
        "n": int(el.get_attribute("data-n")),
        "title": el.find_element("css selector", ".nd-title").text,
        "marks": [m.text for m in el.find_elements("css selector", "mark.nd-quote")],
        "el": el,
    } for el in group.find_elements("css selector", ".nd-source")]
    return {"turn": turn, "answer": bots[-1], "sources": sources, "group": group}


def flag(driver: Any) -> Any:
    return driver.execute_script("return window.__ndPwned")


def article_count(driver: Any) -> int:
    show_tab(driver, "library")
    return int(driver.find_element("css selector", "#nd-library td[data-field='articles']").text.replace(",", ""))


def forget_result(driver: Any) -> None:
    """Marks the current indexing result as old, so waiting for the next one cannot see it."""
    driver.execute_script("document.querySelectorAll('#nd-index-result [data-state]')"
                          ".forEach(e => e.setAttribute('data-old', '1'))")


def indexing_result(driver: Any, what: str, timeout: float = 90) -> str:
    show_tab(driver, "library")
    done = wait_for(driver, lambda d: d.find_elements(
        "css selector", "#nd-index-result [data-state='done']:not([data-old]), "
                        "#nd-index-result [data-state='error']:not([data-old])"), what, timeout=timeout)
    return done[0].text


def upload(driver: Any, paths: list[Path]) -> str:
    """Chooses files in the upload box; returns the per-article result once indexing is done."""
    show_tab(driver, "library")
    forget_result(driver)
    field = driver.find_element("css selector", "#nd-upload input[type='file']")
    field.send_keys("\n".join(str(p) for p in paths))
    return indexing_result(driver, "the upload to be indexed")


def reindex(driver: Any) -> None:
    show_tab(driver, "library")
    forget_result(driver)
    driver.find_element("id", "nd-reindex").click()


def in_view(driver: Any, element: Any) -> bool:
    """Entirely inside the viewport, at the current scroll position."""
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight"
        " && r.right <= window.innerWidth;", element)


def normalise(text: str) -> str:
    return " ".join(text.split())


def type_date(driver: Any, field: str, text: str, enter: bool = False) -> Any:
    """Replaces what From (``nd-since``) or To (``nd-until``) holds, typed as a reader would."""
    show_tab(driver, "filters")
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("css selector", f"#{field} input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    keys = [text] if text else []
    box.send_keys(*keys, *([Keys.ENTER] if enter else []))
    return box


def dates_note(driver: Any, expected: str) -> Any:
    """Waits for the line under the filters to say ``expected``: the filters as read, or why they can't be."""
    show_tab(driver, "filters")
    return wait_for(driver, lambda d: [e for e in d.find_elements("css selector", "#nd-dates .nd-dates")
                                       if e.text == expected], f"the dates note to say {expected!r}")[0]


def clear_dates(driver: Any) -> None:
    type_date(driver, "nd-since", "")
    type_date(driver, "nd-until", "", enter=True)
    dates_note(driver, "Dates: any time")
    filters_in_use(driver, "")


def filters_in_use(driver: Any, expected: str) -> None:
    """Waits for the line under the question box to say ``expected``, seen from the Sources tab (empty: no line)."""
    show_tab(driver, "sources")
    wait_for(driver, lambda d: normalise(d.find_element("id", "nd-in-use").text) == expected,
             f"the filters in use to read {expected!r}")
    if expected:
        assert in_view(driver, driver.find_element("css selector", "#nd-in-use .nd-in-use"))


def ask_refused(driver: Any, question: str, message: str) -> None:
    """Asks, expecting ``message`` instead of an answer: nothing is searched, no sources turn appears."""
    turns = len(driver.find_elements("css selector", "#nd-sources details.nd-turn"))
    box = driver.find_element("css selector", "#nd-question textarea")
    box.clear()
    box.send_keys(question)
    driver.find_element("id", "nd-ask").click()
    # the chat shows the answered turns (an earlier refusal is not one), then this question and its refusal
    wait_for(driver, lambda d: len(got := d.find_elements("css selector", "#nd-chat [data-testid='bot']")) == turns + 1
             and got[-1].text == message, f"the refusal {message!r}")
    assert len(driver.find_elements("css selector", "#nd-sources details.nd-turn")) == turns, "an answer was computed"
    assert box.get_attribute("value") == question, "the question is kept for asking again"


def lines_of(driver: Any, element: Any) -> int:
    """How many lines the browser laid the element's text out on."""
    return driver.execute_script("const r = document.createRange(); r.selectNodeContents(arguments[0]);"
                                 "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;", element)


def calendar(driver: Any, field: str) -> Any:
    """Opens the calendar beside From/To; returns the month view the browser shows."""
    show_tab(driver, "filters")
    driver.find_element("css selector", f"#{field}-pick button.nd-pick").click()
    return wait_for(driver, lambda d: [c for c in d.find_elements("css selector", ".nd-cal") if c.is_displayed()],
                    f"the {field} calendar")[0]


# -- the tests -------------------------------------------------------------------------------------------------------


def test_answer_streams_with_citation_links_and_highlighted_source(browser: Any) -> None:
    assert "Offline" in browser.find_element("id", "nd-mode").text
    got = ask(browser, "How many missiles did Russia fire at Kiev?")
    answer = got["answer"]
    links = answer.find_elements("css selector", "a.nd-cite")
    assert links, f"no [n] links in the answer: {answer.text!r}"
    assert re.search(r"\[1\]", answer.text)
    cited = {s["n"]: s for s in got["sources"]}
    assert 1 in cited
    kyiv = [s for s in got["sources"] if s["title"] == KYIV_TITLE]
    assert kyiv, f"the Kiev article is not among the sources: {[s['title'] for s in got['sources']]}"
    article = normalise((SAMPLE / "kyiv-100-missiles-2024-01-02.txt").read_text())
    marks = [m for m in kyiv[0]["marks"] if m.strip()]
    assert marks, "the cited span is not highlighted"
    for mark in marks:
        assert normalise(mark) in article, f"highlighted text is not from the article: {mark!r}"
    passage = kyiv[0]["el"].find_element("css selector", ".nd-passage").text
    assert len(normalise(passage)) > len(normalise(" ".join(marks))), "the passage should show context around the span"
    assert "2 Jan 2024" in kyiv[0]["el"].text

    # clicking [n] brings that source into view
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    href = links[-1].get_attribute("href")
    assert re.search(rf"#src-{got['turn']}-\d+$", href), href
    links[-1].click()
    target = browser.find_element("id", href.rsplit("#", 1)[1])
    wait_for(browser, lambda d: "nd-flash" in target.get_attribute("class"), "the clicked source to be highlighted")
    wait_for(browser, lambda d: d.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;",
        target), "the clicked source to scroll into view")
    shot(browser, "answer-sources")


def test_follow_up_uses_the_conversation(browser: Any) -> None:
    first = len(browser.find_elements("css selector", "#nd-sources details.nd-turn"))
    assert first >= 1, "runs after the first question"
    got = ask(browser, "How many of them were intercepted?")
    assert got["turn"] == first + 1
    assert len(browser.find_elements("css selector", "#nd-chat [data-testid='bot']")) == got["turn"]
    titles = [s["title"] for s in got["sources"]]
    assert KYIV_TITLE in titles, f"the follow-up lost the conversation: sources {titles}, answer {got['answer'].text!r}"
    # the earlier answer's sources are folded below, the latest open
    assert browser.find_element("id", f"nd-turn-{got['turn']}").get_attribute("open") is not None
    assert browser.find_element("id", f"nd-turn-{first}").get_attribute("open") is None


READER_EXAMPLES = [
    # (question, what the answer must say, the articles it cites); None: refused
    ("Which cities were hit besides Kyiv?", ["Kharkiv — The northeastern Kharkiv region was also targeted"],
     {KYIV_TITLE}),
    ("What did Putin propose?", ["Putin sarcastically proposed a “duel”"], {PUTIN_TITLE}),
    ("How many people died in the attacks?", ["at least five people killed", "the death of at least one person"],
     {KYIV_TITLE, PUTIN_TITLE}),
    ("What did the Pope say about the Kyiv strikes?", None, set()),
]


def new_chat(driver: Any) -> None:
    wait_for(driver, lambda d: d.find_element("id", "nd-clear").is_enabled(), "New conversation to be enabled")
    driver.find_element("id", "nd-clear").click()
    wait_for(driver, lambda d: not d.find_elements("css selector", "#nd-chat [data-testid='bot']"), "a new chat")


@pytest.mark.parametrize("question,says,cites", READER_EXAMPLES)
def test_the_readers_examples_through_the_page_and_the_api(browser: Any, server: WebServer, question: str,
                                                          says: list[str] | None, cites: set[str]) -> None:
    """The offline reader's examples, each a new conversation: the city besides Kyiv leads, the proposal is quoted
    (not the rhetorical question), both attacks' tolls are cited, the Pope is refused."""
    import httpx

    new_chat(browser)
    reply = httpx.post(server.url + "/v1/chat/completions", timeout=60,
                       json={"model": "newsdesk", "messages": [{"role": "user", "content": question}]}).json()
    said = reply["choices"][0]["message"]["content"]
    if says is None:
        box = browser.find_element("css selector", "#nd-question textarea")
        box.send_keys(question)
        browser.find_element("id", "nd-ask").click()
        shown = wait_for(browser, lambda d: [b.text for b in d.find_elements(
            "css selector", "#nd-chat [data-testid='bot']") if "don't say" in b.text], "the refusal")[0]
        assert shown.startswith("The articles don't say."), shown
        assert said.startswith("The articles don't say.") and reply["sources"] == [], said
        return
    got = ask(browser, question)
    for text in (got["answer"].text, said):
        assert all(part in text for part in says), text
    assert {s["title"] for s in got["sources"]} == cites
    assert {s["title"] for s in reply["sources"]} == cites


def test_date_filter_applies_to_retrieval(browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    show_tab(browser, "filters")
    since = browser.find_element("css selector", "#nd-since input")
    since.send_keys("2024-06-01", Keys.ENTER)
    try:
        got = ask(browser, "How many missiles did Russia fire at Kiev?")
        titles = [s["title"] for s in got["sources"]]
        assert KYIV_TITLE not in titles, "the 2024-01-02 article was used despite 'From 2024-06-01'"
    finally:
        show_tab(browser, "filters")
        since.send_keys(Keys.CONTROL, "a")
        since.send_keys(Keys.BACKSPACE, Keys.ENTER)


def test_date_words_in_the_filters_are_read_by_the_one_parser(browser: Any) -> None:
    """ "January 2024" in From and To reaches the server as typed: From reads its first day, To its last."""
    show_tab(browser, "filters")
    assert browser.find_element("css selector", "#nd-since input").accessible_name == "From date"
    assert browser.find_element("css selector", "#nd-until input").accessible_name == "To date"
    try:
        type_date(browser, "nd-since", "January 2024")
        type_date(browser, "nd-until", "January 2024", enter=True)
        dates_note(browser, "Dates: January 2024")
        filters_in_use(browser, "Answers search only January 2024 (Filters tab)")
        got = ask(browser, "How many missiles were fired at Kyiv?")
        shot(browser, "filters-in-use")  # unfiltered, the December article answers too
        assert {s["title"] for s in got["sources"]} == {KYIV_TITLE}, got["answer"].text
    finally:
        clear_dates(browser)


def test_unreadable_date_is_refused_naming_the_field(browser: Any) -> None:
    message = "From needs a date like 2024-12-01 (or words such as 'last week'), not 'blurday'"
    bots = len(browser.find_elements("css selector", "#nd-chat [data-testid='bot']"))
    turns = len(browser.find_elements("css selector", "#nd-sources details.nd-turn"))
    try:
        type_date(browser, "nd-since", "blurday", enter=True)
        note = dates_note(browser, message)
        assert lines_of(browser, note) == 1, "one line"
        filters_in_use(browser, f"Filters: {message}")
        assert len(browser.find_elements("css selector", "#nd-chat [data-testid='bot']")) == bots
        assert len(browser.find_elements("css selector", "#nd-sources details.nd-turn")) == turns
        shot(browser, "date-refused")
        ask_refused(browser, "How many missiles were fired at Kyiv?", message)
        type_date(browser, "nd-since", "")
        type_date(browser, "nd-until", "<i>soon</i>", enter=True)  # To too; what was typed comes back as text
        dates_note(browser, "To needs a date like 2024-12-01 (or words such as 'last week'), not '<i>soon</i>'")
        assert not browser.find_elements("css selector", "#nd-dates i")
    finally:
        clear_dates(browser)


def test_from_after_to_is_refused(browser: Any) -> None:
    message = "From (2024-12-01) is after To (2024-01-31): no article can be in that range"
    try:
        type_date(browser, "nd-since", "December 2024")
        type_date(browser, "nd-until", "2024-01-31", enter=True)
        dates_note(browser, message)
        ask_refused(browser, "How many missiles were fired at Kyiv?", message)
    finally:
        clear_dates(browser)


def test_calendar_opens_on_the_newest_articles_month(browser: Any) -> None:
    """Today is December 2026 (NEWSDESK_TODAY, and the browser's clock); the newest article is of 20 December 2024."""
    from selenium.webdriver.common.keys import Keys

    show_tab(browser, "filters")
    assert browser.find_element("id", "nd-newest").text == "Newest article: 20 December 2024"
    try:
        cal = calendar(browser, "nd-since")
        assert cal.find_element("css selector", ".nd-cal-title").text == "December 2024"
        newest = cal.find_element("css selector", "button[data-day='2024-12-20']")
        assert "nd-cal-newest" in newest.get_attribute("class")
        assert newest.accessible_name == "20 December 2024, newest article"
        assert browser.switch_to.active_element == newest, "keyboard focus starts on the newest article's day"
        shot(browser, "calendar")
        cal.find_element("css selector", "button[data-day='2024-12-05']").click()
        field = browser.find_element("css selector", "#nd-since input")
        assert field.get_attribute("value") == "2024-12-05"
        assert not browser.find_elements("css selector", ".nd-cal")
        field.send_keys(Keys.ENTER)
        dates_note(browser, "Dates: since 5 December 2024")  # the picked day reached the server like a typed one

        cal = calendar(browser, "nd-since")  # a date in the field: its month, that day chosen, arrows move
        assert cal.find_element("css selector", ".nd-cal-chosen").get_attribute("data-day") == "2024-12-05"
        browser.switch_to.active_element.send_keys(Keys.ARROW_UP)
        assert cal.find_element("css selector", ".nd-cal-title").text == "November 2024"
        assert browser.switch_to.active_element.get_attribute("data-day") == "2024-11-28"
        browser.switch_to.active_element.send_keys(Keys.ESCAPE)
        assert not browser.find_elements("css selector", ".nd-cal")
        assert browser.switch_to.active_element.get_attribute("data-for") == "nd-since", "focus back on the button"

        type_date(browser, "nd-until", "2024-01-02")
        assert calendar(browser, "nd-until").find_element("css selector", ".nd-cal-title").text == "January 2024"
        browser.find_element("id", "nd-title").click()  # a click elsewhere closes it
        assert not browser.find_elements("css selector", ".nd-cal")

        browser.set_window_size(390, 844)  # a phone: nothing sticks out sideways, the calendar included
        type_date(browser, "nd-until", "")
        browser.execute_script("document.getElementById('nd-filters').scrollIntoView()")
        cal = calendar(browser, "nd-until")
        assert cal.find_element("css selector", ".nd-cal-title").text == "December 2024"
        width = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        for el in [cal, *browser.find_elements("css selector", "#nd-since, #nd-until, #nd-dates, .nd-pick")]:
            box = el.rect
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (el.get_attribute("id"), box, width)
        shot(browser, "calendar-phone")
    finally:
        browser.set_window_size(1400, 1200)
        browser.find_element("id", "nd-title").click()
        clear_dates(browser)


def test_upload_reindex_then_answer_from_the_new_article(browser: Any, server: WebServer,
                                                         tmp_path: Path) -> None:
    before = article_count(browser)
    new = tmp_path / "port-avelin-lighthouse.md"
    new.write_text(UPLOADED)
    result = upload(browser, [new])
    assert "added 1" in result, result
    assert "Lighthouse keepers strike in Port Avelin" in result
    assert (server.home / "uploads" / new.name).is_file()
    wait_for(browser, lambda d: article_count(d) == before + 1, "the article count to go up")

    reindex(browser)
    result = indexing_result(browser, "the re-index")
    assert "Re-index done" in result
    assert "added 0" in result and "failed 0" in result, result
    assert "unchanged" in result
    assert article_count(browser) == before + 1
    show_tab(browser, "library")
    shot(browser, "library")

    from selenium.webdriver.common.keys import Keys

    browser.execute_script("window.scrollTo(0, 0)")
    show_tab(browser, "filters")
    sources = browser.find_element("css selector", "#nd-source-filter input")
    sources.click()
    options = wait_for(browser, lambda d: [o.get_attribute("aria-label") for o in d.find_elements(
        "css selector", "[data-testid='dropdown-option']")] or None, "the source filter's options")
    sources.send_keys(Keys.ESCAPE)
    assert "Coastal Courier" in options, options
    assert "(no source)" not in options and "" not in options, "the sample articles have no source to pick"
    assert not browser.find_elements("css selector", "#nd-source-filter .token"), "looking must not select a source"

    sources.click()  # picked, the source shows under the question box, seen from the Sources tab too
    wait_for(browser, lambda d: d.execute_script(  # the list re-renders as it opens: find and click in one step
        "const o = [...document.querySelectorAll(\"[data-testid='dropdown-option']\")]"
        ".find(o => o.getAttribute('aria-label') === 'Coastal Courier');"
        "if (o) { o.dispatchEvent(new MouseEvent('mousedown', {bubbles: true})); o.click(); } return !!o;"),
        "the option picked")
    wait_for(browser, lambda d: d.find_elements("css selector", "#nd-source-filter .token"), "the source picked")
    sources.send_keys(Keys.ESCAPE)
    filters_in_use(browser, "Answers search only from Coastal Courier (Filters tab)")
    try:
        got = ask(browser, "Why did the lighthouse keepers in Port Avelin go on strike?")
    finally:
        show_tab(browser, "filters")
        browser.find_element("css selector", "#nd-source-filter .token-remove.remove-all").click()
        filters_in_use(browser, "")
    titles = [s["title"] for s in got["sources"]]
    assert titles == ["Lighthouse keepers strike in Port Avelin"], titles
    assert "night" in got["answer"].text.lower(), got["answer"].text
    link = got["group"].find_element("css selector", ".nd-title a")
    assert link.get_attribute("href") == "https://courier.example/port-avelin-lighthouse-strike"
    assert "Coastal Courier" in got["group"].text


def test_refused_uploads_change_nothing(browser: Any, server: WebServer, tmp_path: Path) -> None:
    before = article_count(browser)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = upload(browser, [empty])
    assert re.search(r"failed\s+empty\.txt\s+empty file", result), result

    for name, content, why in (("payload.sh", "echo owned\n", "Invalid file type"),
                               ("huge.txt", "Huge story\n" + "word " * 300_000, "(?i)size|too large|exceed")):
        bad = tmp_path / name
        bad.write_text(content)
        browser.find_element("css selector", "#nd-upload input[type='file']").send_keys(str(bad))
        toast = wait_for(browser, lambda d: [t for t in d.find_elements("css selector", "[data-testid='toast-body']")
                                             if t.is_displayed()], f"the refusal of {name}")
        assert re.search(why, toast[0].text), toast[0].text
        for close in browser.find_elements("css selector", "[data-testid='toast-close']"):
            close.click()
    uploads = server.home / "uploads"
    assert sorted(p.name for p in uploads.iterdir() if p.is_file()) == ["port-avelin-lighthouse.md"]
    assert article_count(browser) == before


def test_hostile_article_is_shown_as_text_never_run(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    hostile = tmp_path / "harbour-petition.json"
    hostile.write_text(json.dumps(HOSTILE))
    result = upload(browser, [hostile])
    assert "added 1" in result, result
    got = ask(browser, "What did the petition against the harbour wall demolition read? <i>really</i>")
    group = got["group"]
    assert any("Harbour wall petition" in s["title"] for s in got["sources"]), [s["title"] for s in got["sources"]]
    time.sleep(0.5)  # an onerror handler would have fired by now
    assert flag(browser) is None, f"article markup ran as code: window.__ndPwned = {flag(browser)!r}"
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    shown = group.text
    assert "<script>window.__ndPwned='script'</script>" in shown
    assert "<img src=x onerror=\"window.__ndPwned='img'\">" in shown
    assert "Harbour wall petition <img src=x onerror=\"window.__ndPwned='title'\"> update" in shown
    assert "Harbour <b>Watch</b>" in shown
    assert "<i>really</i>" in browser.find_element("id", "nd-chat").text
    for root in ("nd-chat", "nd-sources"):
        container = browser.find_element("id", root)
        assert not container.find_elements("css selector", "script, img[onerror], [onerror], a[href^='javascript']")
        assert not container.find_elements("css selector", "b, i"), "article/user markup became elements"
    assert "javascript:window.__ndPwned='url'" in shown, "the unsafe url is shown as text, not as a link"
    shot(browser, "hostile-article")


def test_chat_answers_while_a_reindex_runs(browser: Any, server: WebServer) -> None:
    bulk = server.home / "uploads" / "bulk"
    bulk.mkdir(parents=True)
    topics = ["road repairs", "school meals", "the library budget", "bus route", "street lighting", "park benches",
              "recycling bins", "parking permits", "the swimming pool", "market stalls"]
    for i in range(160):
        # Several passages per bulletin: the re-index must outlast one answer even on a fast, idle machine.
        body = " ".join(f"On item {j} the district council number {i} discussed {topics[(i + j) % 10]} for ward {i}, "
                        f"and members voted {(i + j) % 7} to {(i * j) % 5} after residents spoke for {j} minutes."
                        for j in range(24))
        (bulk / f"council-{i:03d}.txt").write_text(f"Council bulletin {i}\n{body}\n")
    before = article_count(browser)
    reindex(browser)
    wait_for(browser, lambda d: d.find_elements("css selector", "#nd-index-result [data-state='running'] progress"),
             "the re-index to start")
    started = time.monotonic()
    got = ask(browser, "Why did the lighthouse keepers in Port Avelin go on strike?")
    answered = time.monotonic() - started
    still_running = bool(browser.find_elements("css selector", "#nd-index-result [data-state='running']"))
    assert "Lighthouse keepers strike in Port Avelin" in [s["title"] for s in got["sources"]]
    assert still_running, f"the answer ({answered:.1f} s) should arrive while the re-index is still running"
    result = indexing_result(browser, "the re-index to finish", timeout=120)
    assert "Re-index done" in result and "added 160" in result, result
    assert article_count(browser) == before + 160


# -- the same server without a browser ---------------------------------------------------------------------------------


def test_gradio_client_calls_the_chat(server: WebServer) -> None:
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    got = client.predict(question="How many missiles did Russia fire at Kiev?", api_name="/ask")
    assert re.search(r"\[\d+\]", got["answer"]), got["answer"]
    assert KYIV_TITLE in [c["title"] for c in got["citations"]]
    assert got["mode"] == "offline" and not got["refused"]
    later = client.predict(question="How many missiles did Russia fire at Kiev?", since="2024-06-01", api_name="/ask")
    assert KYIV_TITLE not in [c["title"] for c in later["citations"]]


# -- pieces the page relies on ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, saved", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/story one.html", "story one.html"),
    (".hidden.json", "hidden.json"),
    ("a.txt\x00.sh", None),
    ("..", None),
    ("noextension", None),
    ("run.exe", None),
])
def test_upload_names_cannot_escape_the_upload_folder(settings: Any, tmp_path: Path, name: str,
                                                      saved: str | None) -> None:
    from assistant.web.uploads import UploadError, save_upload

    src = tmp_path / "incoming"
    src.write_text("Title\nSome text.\n")
    if saved is None:
        with pytest.raises(UploadError):
            save_upload(src, name, settings)
        assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())
        return
    got = save_upload(src, name, settings)
    assert got.path == settings.uploads_dir.resolve() / saved
    assert got.path.read_text() == "Title\nSome text.\n"
    assert [p.name for p in settings.uploads_dir.iterdir()] == [saved]


def test_uploads_are_limited_in_size(settings: Any, tmp_path: Path) -> None:
    from assistant.web.uploads import UploadError, save_upload

    settings.upload_max_mb = 0.01
    big = tmp_path / "big.txt"
    big.write_text("Big\n" + "x" * 20_000)
    with pytest.raises(UploadError, match="too large"):
        save_upload(big, "big.txt", settings)
    assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())


def test_answer_markup_is_escaped_and_markers_link_to_sources() -> None:
    from assistant.types import Citation
    from assistant.web.render import answer_markdown, highlighted, safe_url

    cite = Citation(1, "a1", "T", "S", "2024-01-01", None, "passage <b>x</b>", 0, 10, 0.5, ((8, 16),))
    out = answer_markdown("Said <script>alert(1)</script> *so* [1] and [7].", [cite], 3, notice="LLM <down>")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<a class="nd-cite" href="#src-3-1" title="Source 1: T, 1 Jan 2024">[1]<span class="nd-tip">' \
           '<span class="nd-tip-title">T</span><span class="nd-tip-meta">S · 1 Jan 2024</span></span></a>' in out
    assert "\\[7\\]" in out, "a marker without a citation stays text"
    assert "\\*so\\*" in out, "Markdown in article text is shown literally"
    assert '<div class="nd-notice">⚠ LLM &lt;down&gt;</div>' in out, "no Markdown escapes inside the HTML block"
    assert answer_markdown("    indented <b>", [], 1) == "indented &lt;b&gt;", "no code block (escapes would show)"
    assert highlighted("passage <b>x</b>", [(8, 16)]) == 'passage <mark class="nd-quote">&lt;b&gt;x&lt;/b&gt;</mark>'
    assert safe_url("javascript:alert(1)") is None and safe_url("https://a.example/x") == "https://a.example/x"


def test_binding_beyond_loopback_without_a_password_warns(settings: Any) -> None:
    from assistant.cli import build_parser
    from assistant.launcher import bind_warning, is_loopback

    serve = build_parser().parse_args(["serve"])
    assert (serve.host, serve.port) == ("127.0.0.1", 7860)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert bind_warning("127.0.0.1", settings) is None
    assert "NEWSDESK_AUTH" in (bind_warning("0.0.0.0", settings) or "")
    settings.auth = "editor:pw"
    assert bind_warning("0.0.0.0", settings) is None


def test_serve_keeps_a_watched_folder_indexed(tmp_path: Path) -> None:
    import httpx

    news = tmp_path / "watched"
    shutil.copytree(SAMPLE, news)
    srv = WebServer(tmp_path / "home", index=[], watch=[news], env={"NEWSDESK_WATCH_DEBOUNCE": "0.2"})
    try:
        srv.wait_ready()
        (news / "port-avelin-lighthouse.md").write_text(UPLOADED)
        question = {"model": "newsdesk", "messages": [
            {"role": "user", "content": "Why did the lighthouse keepers in Port Avelin go on strike?"}]}
        deadline = time.monotonic() + 60
        titles: list[str] = []
        while time.monotonic() < deadline:
            reply = httpx.post(srv.url + "/v1/chat/completions", json=question, timeout=60).json()
            titles = [s["title"] for s in reply["sources"]]
            if "Lighthouse keepers strike in Port Avelin" in titles:
                break
            time.sleep(0.5)
        assert "Lighthouse keepers strike in Port Avelin" in titles, (titles, srv.log())
        assert "watching" in srv.log()
    finally:
        srv.stop()


def test_dates_are_read_against_the_collection_in_a_conversation(browser: Any) -> None:
    """A new user's first questions, with "today" in December 2026: the January and December 2024 articles answer."""
    new_chat(browser)
    got = ask(browser, "How many missiles were fired in the January attack?")
    assert {s["title"] for s in got["sources"]} == {KYIV_TITLE}, got["answer"].text
    got = ask(browser, "And in the December one?")
    titles = [s["title"] for s in got["sources"]]
    assert titles and all("Duel" in t for t in titles), (titles, got["answer"].text)
    shot(browser, "time-frames")


def test_newest_article_follows_the_library(browser: Any, tmp_path: Path) -> None:
    """An upload with a newer article moves the calendar's first month; one dated after today does not."""
    for name, day in (("ferry-2025-02-14.md", "2025-02-14"), ("ferry-2027-01-05.md", "2027-01-05")):
        (tmp_path / name).write_text(f"---\ntitle: Avelin ferry timetable {day}\ndate: {day}\n---\n"
                                     f"From {day} the Avelin ferry keeps its winter timetable.\n")
    result = upload(browser, sorted(tmp_path.glob("ferry-*.md")))
    assert "added 2" in result, result
    show_tab(browser, "filters")
    wait_for(browser, lambda d: d.find_element("id", "nd-newest").text == "Newest article: 14 February 2025",
             "the newest article to move to 14 February 2025")
    browser.execute_script("window.scrollTo(0, 0)")
    try:
        assert calendar(browser, "nd-since").find_element("css selector", ".nd-cal-title").text == "February 2025"
    finally:
        browser.find_element("id", "nd-title").click()


def test_sources_panel_and_api_name_who_else_reported_the_story(browser: Any, server: WebServer,
                                                                tmp_path: Path) -> None:
    """A wire copy of the January story (new headline, byline, later day) is cited once, from the original, and
    the sources panel and the API's ``sources`` name the copy's outlet."""
    body = (SAMPLE / "kyiv-100-missiles-2024-01-02.txt").read_text(encoding="utf-8").split("\n", 1)[1]
    copy = tmp_path / "wire-kyiv.md"
    copy.write_text("---\ntitle: Kyiv hit by massive missile barrage\ndate: 2024-01-03\nsource: Wire Service\n"
                    "url: https://wire.example/kyiv\n---\nBy Anna Lee\n\n" + body + "\n\nReporting by Anna Lee.\n")
    assert "added 1" in upload(browser, [copy])
    question = "How many people were injured when Russia pounded Kiev with 100 missiles?"
    got = ask(browser, question)
    assert {s["title"] for s in got["sources"]} == {KYIV_TITLE}, "the copy is not cited beside the original"
    also = got["sources"][0]["el"].find_element("css selector", ".nd-also")
    assert also.text.startswith("Also reported by:") and "Wire Service · 3 Jan 2024" in also.text
    link = also.find_element("css selector", "a")
    assert link.get_attribute("href") == "https://wire.example/kyiv" and link.get_attribute("rel") == \
        "noopener noreferrer nofollow"
    shot(browser, "also-reported-by")

    import httpx

    reply = httpx.post(server.url + "/v1/chat/completions", timeout=60,
                       json={"model": "newsdesk", "messages": [{"role": "user", "content": question}]}).json()
    assert reply["sources"] and all(s["title"] == KYIV_TITLE for s in reply["sources"])
    assert reply["conflicts"] == [], "one report: nothing to disagree with"
    assert reply["sources"][0]["also_reported_by"] == [
        {"source": "Wire Service", "title": "Kyiv hit by massive missile barrage", "url": "https://wire.example/kyiv",
         "published": "2024-01-03"}]


def test_suggested_follow_ups_are_answered(browser: Any) -> None:
    """Under an answer, up to three follow-ups about its articles' people, places and days; each was checked to be
    answerable, and a click asks it."""
    ask(browser, "What did Putin propose?")
    buttons = wait_for(browser, lambda d: [b for b in d.find_elements("css selector", "#nd-followups .nd-followup")
                                           if b.is_displayed() and b.text], "the suggested follow-ups")
    texts = [b.text for b in buttons]
    assert 1 <= len(texts) <= 3 and all(t.startswith("What ") and t.endswith("?") for t in texts), texts
    assert not any("Putin" in t for t in texts), "the question named Putin already"
    shot(browser, "follow-ups")
    turns = len(browser.find_elements("css selector", "#nd-sources details.nd-turn"))
    buttons[0].click()
    group = wait_for(browser, lambda d: d.find_elements("id", f"nd-turn-{turns + 1}"), "the follow-up's answer")[0]
    assert texts[0] in group.text and group.find_elements("css selector", ".nd-source"), group.text
