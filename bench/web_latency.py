"""How long the web chat takes to show an answer, as a reader sees it: from the Ask click to the answer's sources in
the panel, in headless Chromium against a real ``newsdesk serve`` on 127.0.0.1 over the bundled sample.

    python bench/web_latency.py [--repo DIR] [--rounds 5]

``--repo``: the checkout whose code serves the page (a ``git worktree`` of an older commit gives the "before").
Each round is one of ``answer_latency.CONVERSATIONS``, so no question is asked twice of one server (a second
asking finds every sentence already read). The first answer of a run (a new server and page) is reported apart
from the later ones. ``--pause``: what the page does after an answer (saving the conversation, checking
follow-ups) overlaps the next question when the reader asks at once. Each round is a new reader: the browser's
storage is cleared, or the page would restore the last conversation and its sources panels would be found before
the new answers arrive.

On two cores the figures drift by a fifth between runs of the same code: compare before and after in alternating
runs, with nothing else running (a forgotten server or browser from an interrupted run counts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from answer_latency import CONVERSATIONS

ROOT = Path(__file__).resolve().parent.parent


def serve(repo: Path, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NEWSDESK_", "GRADIO_"))}
    env.update({"NEWSDESK_HOME": str(home), "NEWSDESK_TODAY": "2026-12-02", "PYTHONPATH": str(repo)})
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--index", str(ROOT / "data" / "sample")], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/gradio_api/info", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def browser() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1366,768"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


CLICK_AND_WAIT = """
const [turn, done] = arguments;
const id = 'nd-turn-' + turn;
const started = performance.now();
const seen = new MutationObserver(() => {
  if (document.getElementById(id)) { seen.disconnect(); done(performance.now() - started); }
});
seen.observe(document.body, {subtree: true, childList: true});
document.getElementById('nd-ask').click();
"""
"""Clicks Ask and times, in the page, until the answer's sources panel is in the document: no polling from outside
(a WebDriver call every few milliseconds takes CPU from the server it measures, on two cores)."""


def ask(driver: object, question: str, turn: int) -> float:
    box = driver.find_element("css selector", "#nd-question textarea")  # type: ignore[attr-defined]
    box.clear()
    box.send_keys(question)
    return float(driver.execute_async_script(CLICK_AND_WAIT, turn))  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=len(CONVERSATIONS),
                        help="page loads, each asking the questions of the next conversation")
    parser.add_argument("--pause", type=float, default=2.0,
                        help="seconds between an answer and the next question (a reader reads it; 0: at once)")
    parser.add_argument("--typing", type=float, default=1.0,
                        help="seconds between the page load and the first question (the page's load events run)")
    args = parser.parse_args()
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        print("skipped: needs /usr/bin/chromium and /usr/bin/chromedriver")
        return 0
    home = Path(tempfile.mkdtemp(prefix="newsdesk-weblat-"))
    proc, url = serve(args.repo.resolve(), home / "home")
    driver = browser()
    driver.set_script_timeout(60)  # type: ignore[attr-defined]
    first, later = [], []
    try:
        for at in range(args.rounds):
            from selenium.webdriver.support.ui import WebDriverWait

            driver.get(url + "/")  # type: ignore[attr-defined]
            # a new reader each round: the page restores the last conversation from the browser's storage, and its
            # sources panels would be found before the new answers arrive
            driver.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")  # type: ignore
            driver.get(url + "/")  # type: ignore[attr-defined]
            WebDriverWait(driver, 60).until(lambda d: d.find_elements("css selector", "#nd-question textarea"))
            time.sleep(args.typing)
            for turn, question in enumerate(CONVERSATIONS[at % len(CONVERSATIONS)], 1):
                took = ask(driver, question, turn)
                time.sleep(args.pause)
                (first if not first and turn == 1 else later).append(took)
    finally:
        driver.quit()  # type: ignore[attr-defined]
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    print(f"repo {args.repo}: first answer {first[0]:.0f} ms; later answers ({len(later)}) "
          f"p50 {statistics.median(later):.0f} ms, p90 {sorted(later)[int(0.9 * len(later))]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
