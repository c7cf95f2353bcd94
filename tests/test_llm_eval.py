"""bench/llm_eval.py's figures, checked against scripted replies: the real bench code (indexing the sample articles,
asking through ``Assistant``, scoring, the table and the JSON) with tests/openai_server.py as the model, on
127.0.0.1. A real model is measured by running the script itself; this test keeps its arithmetic honest.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from openai_server import Recorded, Reply, ScriptedOpenAI

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def llm_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llm_eval", ROOT / "bench" / "llm_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["llm_eval"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def passages(request: Recorded) -> dict[int, str]:
    user = request.messages[-1]["content"]
    return {int(n): body for n, body in re.findall(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', user, re.S)}


def model(request: Recorded) -> Reply:
    """A correct answer (with a marker style the parser reads and one pointing at no passage), a wrong one citing a
    passage without the gold evidence plus an uncited sentence, and "The articles don't say." to everything else."""
    user = request.messages[-1]["content"]
    numbered = passages(request)
    if "Question: How many missiles hit Kyiv on January 2?" in user:
        n = next(k for k, body in numbered.items() if "involved about 100 missiles" in body)
        return Reply(f"About 100 missiles hit Kyiv on January 2 [Passage {n}][9].")
    if "Question: What did Putin propose?" in user:
        n = next(k for k, body in numbered.items() if "propose" not in body)
        return Reply(f"Putin proposed a ceasefire [{n}]. He spoke on Thursday.")
    return Reply("The articles don't say.")


def test_figures_for_scripted_replies(llm_eval: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("NEWSDESK_TODAY", "NEWSDESK_CHROMA_HOST", "NEWSDESK_HOME"):
        monkeypatch.delenv(var, raising=False)
    with ScriptedOpenAI(model) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "local")
        monkeypatch.setenv("NEWSDESK_LLM_MODEL", "scripted")
        out, summary = tmp_path / "answers.jsonl", tmp_path / "summary.json"
        assert llm_eval.main(["--sets", "sample", "--out", str(out), "--json", str(summary)]) == 0
    printed = capsys.readouterr().out

    rows = {r["question"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert len(rows) == len(llm_eval.SAMPLE_CASES) == 10
    missiles, putin = rows["How many missiles hit Kyiv on January 2?"], rows["What did Putin propose?"]
    assert missiles["verdict"] == "correct" and missiles["answer"] == "About 100 missiles hit Kyiv on January 2 [1]."
    assert missiles["raw_styles"] == {"[n]": 1, "[Passage n]": 1} and missiles["markers_dropped"] == 1
    assert putin["verdict"] == "wrong" and putin["citations"][0]["holds_gold"] is False
    assert rows["Who claimed responsibility for killing Igor Kirillov?"]["verdict"] == "refused"
    assert rows["What did the Pope say about the Kyiv strikes?"]["verdict"] == "correct", "a trap refused"
    australia = rows["What is the capital of Australia?"]
    assert australia["refused_before_call"] and not australia["llm_called"], "the off-topic gate refused"

    s = json.loads(summary.read_text())["results"]["sample"]
    assert (s["questions"], s["correct"], s["wrong"], s["refused"]) == (10, 4, 1, 5)
    assert s["score"] == pytest.approx(0.3)
    # how many the off-topic gate refuses before the call is the gate's business (assistant.answer.gate): counted
    pre = sum(r["refused_before_call"] for r in rows.values())
    assert pre >= 1 and s["refused_before_call"] == pre and s["llm_failed"] == 0
    assert s["refused_by_model"] == 10 - 2 - pre, "all but the two scripted answers refused, by the gate or the model"
    assert s["citation_precision"] == pytest.approx(0.5), "one cited passage of two holds the gold evidence"
    assert s["citation_recall"] == pytest.approx(2 / 3), "two answer sentences of three carry a marker"
    assert s["markers_dropped"] == 1 and s["markers_dropped_per_notice"] == 1
    assert s["raw_marker_styles"] == {"[n]": 2, "[Passage n]": 1} and s["unparsed_in_answers"] == {}
    assert s["ttft_ms_p50"] > 0 and s["total_ms_p50"] > 0

    table = next(line for line in printed.splitlines() if line.startswith("sample "))
    assert table.split()[:11] == ["sample", "10", "4", "1", "5", "+0.30", str(pre), "50%", "67%", "1",
                                  f"{s['ttft_ms_p50'] / 1000:.1f}"]
