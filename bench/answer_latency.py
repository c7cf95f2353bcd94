"""How long the offline answer takes in-process, question by question through conversations about the bundled
sample: no browser, no server, so the answer's own compute is measured apart from the page's.

    .venv/bin/python bench/answer_latency.py [--repo DIR]

``--repo``: the checkout whose code answers (a ``git worktree`` of an older commit gives the "before"). One new
process asks ``CONVERSATIONS`` in order, every question once, each with its conversation's earlier turns as history,
as the web chat asks them; run it several times rather than repeating inside one process, where the second pass
would find every sentence already read. The first question is reported apart: it loads the keyword snapshot and
the entity model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = [
    ["How many missiles were fired in the January attack?", "What did Putin propose?",
     "Where did Russia first use the Oreshnik missile?", "How many people were injured in Kyiv?",
     "What did Zelensky say about Putin?", "Which cities were hit besides Kyiv?"],
    ["How many people were killed in Belgorod?", "Who is the mayor of Kyiv?",
     "What did Zaluzhny say about the interceptions?", "Where were the five ballistic missiles launched from?",
     "What plant did Ukraine attack in the Rostov region?", "How many survivors gathered at the school?"],
    ["What did Zelensky call Putin?", "Which weapons helped destroy the hypersonic missiles?",
     "What happened to heating in Kyiv?", "How many missiles did Ukraine fire at Belgorod?",
     "What did the Defense Ministry say about the strike?", "Where was Zelensky during the December strikes?"],
    ["How old was Inna Luhina?", "What does the Kamensky plant produce?",
     "How many people were injured in the January attack?", "Why does Russia use ballistic missiles sparingly?",
     "What did the photos of the destruction show?", "What did Putin vow before the January attack?"],
    ["How many missiles and drones did Russia launch over five days?", "What fell into the water in Kyiv?",
     "Who shared the casualty figures on Telegram?", "What is Ukraine short of at the front?",
     "How many missiles were intercepted in December?", "What did European leaders discuss with Zelensky?"],
]
"""Thirty different questions about the sample, six to a conversation; ``web_latency.py`` asks the same ones."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    args = parser.parse_args()
    repo = args.repo.resolve()
    home = tempfile.mkdtemp(prefix="newsdesk-anslat-")
    os.environ.update({"NEWSDESK_HOME": home, "NEWSDESK_TODAY": "2026-12-02"})
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--quiet", str(ROOT / "data" / "sample")],
                   cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)), check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(repo))
    from assistant.assistant import Assistant
    from assistant.settings import load_settings
    from assistant.types import Turn

    first: list[float] = []
    later: list[float] = []
    assistant = Assistant(load_settings())
    try:
        for at, conversation in enumerate(CONVERSATIONS):
            history: list[Turn] = []
            for question in conversation:
                started = time.perf_counter()
                answer = list(assistant.ask_stream(question, history))[-1]
                took = (time.perf_counter() - started) * 1000
                (later if at or history else first).append(took)
                history.append(Turn(question, answer.text))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    later.sort()
    print(f"repo {repo}: first answer {first[0]:.0f} ms; later answers ({len(later)}) "
          f"p50 {statistics.median(later):.0f} ms, p90 {later[int(0.9 * len(later))]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
