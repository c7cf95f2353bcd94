"""Accessibility and layout of the web chat: axe-core rules, what fits a 1366×768 laptop and a 390 px phone, citation
chips, keyboard-only use. A real ``newsdesk serve`` and headless Chromium (``test_web``'s fixtures, one of each here).

axe-core is the npm package ``scripts/setup.sh --browser`` installs into ``<venv>/axe``; its ``axe.min.js`` is read
from disk and injected into the page, so nothing is fetched while testing. Screenshots land in
``artifacts/screenshots/`` (desktop-1366.png, phone-390.png, ...).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import test_web
from test_web import KYIV_TITLE, ask, in_view, lines_of, shot, show_tab, wait_for

server = test_web.server
browser = test_web.browser

AXE = Path(sys.prefix) / "axe" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "How many missiles did Russia fire at Kiev?"
DESKTOP = (1366, 768)
PHONE = (390, 844)


@contextmanager
def viewport(driver: Any, size: tuple[int, int], mobile: bool = False) -> Iterator[None]:
    """The page as a screen of exactly ``size`` CSS pixels shows it (the window's size includes no browser chrome
    in headless mode, but the override makes it exact and gives a phone its mobile viewport)."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    try:
        wait_for(driver, lambda d: d.execute_script("return window.innerWidth") == width, f"a {width} px viewport")
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def axe(driver: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as shown (rules for WCAG 2 A/AA and best practices)."""
    if not AXE.is_file():
        pytest.skip(f"axe-core missing ({AXE}): scripts/setup.sh --browser installs it with npm")
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(120)
    got = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                      html: n.html.slice(0, 160)}))}))), e => done('ERROR ' + e));""")
    assert not isinstance(got, str), got
    return got


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def report(where: str, violations: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for v in violations:
        counts[v["impact"]] = counts.get(v["impact"], 0) + 1
    lines = [f"axe at {where}: {counts or 'no violations'}"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
        for n in v["nodes"][:6]:
            lines.append(f"      {n['target']}  {n['html']!r}\n        {' '.join((n['summary'] or '').split())}")
    return "\n".join(lines)


def check_axe(driver: Any, where: str) -> None:
    found = axe(driver)
    print(report(where, found))
    assert not serious(found), report(where, serious(found))


def find(driver: Any, css: str) -> Any:
    return driver.find_element("css selector", css)


def no_sideways_scroll(driver: Any) -> None:
    width, scroll = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]")
    wide = driver.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect();"
        " return r.width > 0 && r.right > window.innerWidth + 1 && getComputedStyle(e).position !== 'fixed'; })"
        ".slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className.toString().slice(0, 60))")
    assert scroll <= width, f"the page scrolls sideways: {scroll} > {width}; too wide: {wide}"


@pytest.fixture(scope="module")
def answered(browser: Any) -> dict[str, Any]:
    """An answer with sources on screen, asked at the desktop size."""
    with viewport(browser, DESKTOP):
        browser.execute_script("window.scrollTo(0, 0)")
        return ask(browser, QUESTION)


# -- the tests -------------------------------------------------------------------------------------------------------


def test_desktop_fits_1366x768_and_passes_axe(browser: Any, answered: dict[str, Any]) -> None:
    with viewport(browser, DESKTOP):
        browser.execute_script("window.scrollTo(0, 0)")
        show_tab(browser, "sources")
        for css in ("#nd-question textarea", "#nd-ask", "#nd-chat", "#nd-sources .nd-source", "#nd-tab-filters-button",
                    "#nd-tab-library-button"):
            assert in_view(browser, find(browser, css)), f"{css} is not on the 1366×768 screen without scrolling"
        shot(browser, "desktop-1366")
        check_axe(browser, "1366×768, sources")

        show_tab(browser, "filters")
        for css in ("#nd-since input", "#nd-until input", "#nd-since-pick button", "#nd-until-pick button",
                    "#nd-source-filter input", "#nd-dates"):
            assert in_view(browser, find(browser, css)), f"{css} is not on screen one tab click away"
        shot(browser, "desktop-1366-filters")
        check_axe(browser, "1366×768, filters")

        show_tab(browser, "library")
        for css in ("#nd-library table", "#nd-reindex", "#nd-upload"):
            assert in_view(browser, find(browser, css)), f"{css} is not on screen one tab click away"
        shot(browser, "desktop-1366-library")
        check_axe(browser, "1366×768, library")
        show_tab(browser, "sources")


def test_phone_390_nothing_overflows_and_passes_axe(browser: Any, answered: dict[str, Any]) -> None:
    with viewport(browser, PHONE, mobile=True):
        browser.execute_script("window.scrollTo(0, 0)")
        show_tab(browser, "sources")
        no_sideways_scroll(browser)
        title = find(browser, "#nd-title h1, #nd-title h2")
        assert lines_of(browser, title) <= 2, "the title takes more than two lines"
        chat = find(browser, "#nd-chat").rect
        ask_button = find(browser, "#nd-ask").rect
        height = browser.execute_script("return window.innerHeight")
        assert chat["height"] <= 0.7 * height, f"the chat box ({chat['height']} px) is taller than a phone allows"
        assert ask_button["y"] + ask_button["height"] - chat["y"] <= height, "chat and Ask do not fit one screen"
        shot(browser, "phone-390")
        check_axe(browser, "390×844, sources")
        browser.execute_script("document.getElementById('nd-tabs').scrollIntoView({block: 'start'})")
        shot(browser, "phone-390-sources")

        show_tab(browser, "filters")
        no_sideways_scroll(browser)
        for field in ("nd-since", "nd-until"):
            card = find(browser, f"#{field}").rect
            box = find(browser, f"#{field} input").rect
            pick = find(browser, f"#{field}-pick button")
            picked = pick.rect
            assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (field, box,
                                                                                                        card)
            assert box["x"] <= picked["x"] and picked["x"] + picked["width"] <= box["x"] + box["width"] + 0.5, \
                f"{field}'s calendar button is outside its field"
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pick)
            hit = browser.execute_script(
                "const r = arguments[0].getBoundingClientRect();"
                "const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
                "return !!e && !!e.closest('button.nd-pick');", pick)
            assert hit, f"{field}'s calendar button is covered"
        browser.execute_script("document.getElementById('nd-tabs').scrollIntoView({block: 'start'})")
        shot(browser, "phone-390-filters")
        check_axe(browser, "390×844, filters")

        show_tab(browser, "library")
        no_sideways_scroll(browser)
        browser.execute_script("document.getElementById('nd-tabs').scrollIntoView({block: 'start'})")
        shot(browser, "phone-390-library")
        check_axe(browser, "390×844, library")
        show_tab(browser, "sources")


def test_stop_and_the_sidebar_pass_axe_when_enabled(browser: Any, answered: dict[str, Any]) -> None:
    """Stop is disabled whenever no answer streams, and the sidebar starts closed: shown as a reader sees them while
    an answer streams (Stop enabled) and with the list open, they meet the same contrast and naming rules."""
    with viewport(browser, DESKTOP):
        browser.execute_script("window.scrollTo(0, 0)")
        toggle = find(browser, "button.toggle-button[aria-label='Toggle Sidebar']")
        toggle.click()
        wait_for(browser, lambda d: find(d, "#nd-conv-delete").is_displayed(), "the sidebar to open")
        browser.execute_script("document.querySelector('#nd-stop').removeAttribute('disabled')")
        try:
            shot(browser, "desktop-1366-sidebar-stop")
            check_axe(browser, "1366×768, sidebar open, Stop enabled")
        finally:
            browser.execute_script("document.querySelector('#nd-stop').setAttribute('disabled', '')")
            find(browser, "button.toggle-button[aria-label='Toggle Sidebar']").click()
            wait_for(browser, lambda d: not find(d, "#nd-conv-delete").is_displayed(), "the sidebar to close")


def test_citations_are_chips_with_a_name_and_a_preview_and_open_with_enter(browser: Any,
                                                                           answered: dict[str, Any]) -> None:
    from selenium.webdriver.common.keys import Keys
    from test_web_feedback import tab_to

    with viewport(browser, DESKTOP):
        first = answered["answer"].find_elements("css selector", "a.nd-cite")[0]
        style = browser.execute_script("const s = getComputedStyle(arguments[0]);"
                                       "return [s.backgroundColor, s.borderRadius, s.cursor]", first)
        assert style[0] not in ("rgba(0, 0, 0, 0)", "transparent") and style[1] != "0px", f"not a chip: {style}"
        assert not first.find_element("css selector", ".nd-tip").is_displayed(), "the preview shows unasked"

        # keyboard: Shift+Tab from the question box reaches the latest answer's last chip; its preview shows
        find(browser, "#nd-question textarea").click()
        chip = tab_to(browser, "#nd-chat a.nd-cite", backwards=True)
        n = int(chip.get_attribute("href").rsplit("-", 1)[1])
        source = next(s for s in answered["sources"] if s["n"] == n)
        assert source["title"] == KYIV_TITLE
        assert chip.accessible_name == f"Source {n}: {KYIV_TITLE}, 2 Jan 2024"
        assert chip.text.startswith(f"[{n}]")
        tip = chip.find_element("css selector", ".nd-tip")
        wait_for(browser, lambda d: tip.is_displayed(), "the preview on keyboard focus")
        assert tip.text.split("\n") == [KYIV_TITLE, "2 Jan 2024"], tip.text
        assert in_view(browser, tip), "the preview is cut off"
        shot(browser, "citation-preview")
        target = browser.find_element("id", chip.get_attribute("href").rsplit("#", 1)[1])
        browser.execute_script("arguments[0].classList.remove('nd-flash')", target)
        chip.send_keys(Keys.ENTER)
        wait_for(browser, lambda d: "nd-flash" in target.get_attribute("class"), "Enter on the chip to flash it")
        assert target.is_displayed() and browser.switch_to.active_element == target, "focus moves to the passage"
        assert answered["answer"].text.count("2 Jan 2024") == 0, "previews stay out of the answer's text"


def test_citation_opens_the_sources_tab(browser: Any, answered: dict[str, Any]) -> None:
    with viewport(browser, DESKTOP):
        show_tab(browser, "library")
        chip = answered["answer"].find_elements("css selector", "a.nd-cite")[0]
        browser.execute_script("arguments[0].click()", chip)
        target = browser.find_element("id", chip.get_attribute("href").rsplit("#", 1)[1])
        wait_for(browser, lambda d: target.is_displayed() and "nd-flash" in target.get_attribute("class"),
                 "the citation to bring the Sources tab back")


def test_keyboard_only_ask_and_open_a_citation(browser: Any) -> None:
    """Tab into the question box, type, Enter: answered; Shift+Tab reaches the answer's chip; Enter opens it."""
    from selenium.webdriver.common.keys import Keys
    from test_web_feedback import active, press, tab_to

    with viewport(browser, DESKTOP):
        browser.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
        turns = len(browser.find_elements("css selector", "#nd-sources details.nd-turn"))
        box = tab_to(browser, "#nd-question textarea", limit=80)
        assert box.accessible_name == "Question"
        box.send_keys("How many people were injured in Kiev?", Keys.ENTER)
        wait_for(browser, lambda d: d.find_elements("id", f"nd-turn-{turns + 1}"), "the keyboard question's answer")
        chip = tab_to(browser, "#nd-chat a.nd-cite", backwards=True, limit=60)
        target = browser.find_element("id", chip.get_attribute("href").rsplit("#", 1)[1])
        press(browser, Keys.ENTER)
        wait_for(browser, lambda d: "nd-flash" in target.get_attribute("class"), "Enter on the chip")
        assert active(browser) == target
        box = tab_to(browser, "#nd-question textarea", backwards=True, limit=80)  # back to the chat
        assert tab_to(browser, "#nd-ask").accessible_name == "Ask"


def test_labels_of_controls(browser: Any) -> None:
    assert find(browser, "#nd-question textarea").accessible_name == "Question"
    show_tab(browser, "filters")
    assert find(browser, "#nd-since input").accessible_name == "From date"
    assert find(browser, "#nd-until input").accessible_name == "To date"
    assert find(browser, "#nd-since-pick button").accessible_name == "Calendar for From date"
    show_tab(browser, "sources")


# -- the same rendering without a browser ---------------------------------------------------------------------------


def test_dates_read_as_days_and_ages() -> None:
    from assistant.web.render import ago, day_text

    assert day_text("2024-12-20") == "20 Dec 2024"
    assert day_text("2024-12-20T08:30:00+00:00") == "20 Dec 2024"
    assert day_text("sometime") == "sometime" and day_text("") == ""
    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    for delta, said in ((timedelta(seconds=20), "just now"), (timedelta(minutes=2), "2 min ago"),
                        (timedelta(hours=3, minutes=5), "3 h ago"), (timedelta(days=1, hours=2), "yesterday"),
                        (timedelta(days=4), "4 days ago"), (timedelta(days=40), "23 Oct 2026")):
        assert ago((now - delta).isoformat(timespec="seconds"), now) == said, delta
    assert ago(None, now) == "never"


def test_library_and_progress_read_naturally() -> None:
    from assistant.web.render import library_html, progress_html, source_choices
    from index.pipeline.status import Status

    assert progress_html("Upload", 0, 0, 0, 0).endswith("Upload: starting…</div>")
    line = progress_html("Re-index", 3, 10, 2, 40)
    assert "Re-index: 3/10 files, 2 articles, 40 passages written" in line
    assert "articles, 0 articles" not in progress_html("Upload", 0, 0, 5, 9)
    assert source_choices(["", "Reuters", "AP"]) == [("AP", "AP"), ("Reuters", "Reuters")]
    fields = Status.__dataclass_fields__
    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    values: dict[str, Any] = {name: None for name in fields}
    values.update(articles=3, chunks=9, sources=["", "Reuters"], watched=[],
                  last_sync=(now - timedelta(minutes=2)).isoformat(timespec="seconds"))
    html = library_html(Status(**values), now=now)
    assert "2 min ago" in html and "2026-12-02T11:58" not in html.split("datetime=")[0]
    assert '<td data-field="sources">1</td>' in html, "an article without a source is not a source"


def test_blank_lines_in_passages_collapse_and_quotes_stay_on_their_words() -> None:
    from assistant.web.render import highlighted

    text = "First line.\n\n\n   \nSecond <b> para.\n\nThird."
    start = text.index("Second")
    out = highlighted(text, [(start, start + len("Second <b>"))])
    assert out == ('First line.\n<span class="nd-gap"></span><mark class="nd-quote">Second &lt;b&gt;</mark> para.\n'
                   '<span class="nd-gap"></span>Third.')
    across = highlighted(text, [(text.index("line"), start + 6)])
    assert across.count("<mark") == 1 and "line.\n<span class=\"nd-gap\"></span>Second</mark>" in across
