"""The bench scripts run from a fresh copy of the repo with no ``../shared/bench`` beside it.

Each script runs as a subprocess at its tiniest size from a copy of the source tree in a temp dir (so the bench data
next to the real checkout is out of reach), and must exit 0, print its table and write its JSON. No timings are
asserted: speed is measured by the scripts themselves, not by tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".venv", ".git", "artifacts", "results", "__pycache__", "*.egg-info", ".pytest_cache",
                              ".ruff_cache", "tests")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source tree alone, one level below an empty folder: ``../shared/bench`` does not exist for it."""
    target = tmp_path_factory.mktemp("fresh") / "newsdesk"
    shutil.copytree(ROOT, target, ignore=SKIP)
    assert not (target.parent / "shared").exists()
    return target


def run(clone: Path, script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=clone, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_retrieval_eval_skips_without_dev_set(clone: Path) -> None:
    out = run(clone, "retrieval_eval.py")
    assert "skipped: no dev set" in out
    assert not (clone / "bench" / "results" / "retrieval_eval.json").exists()


def test_index_speed_tiny(clone: Path) -> None:
    out = run(clone, "index_speed.py", "-n", "2")
    result = json.loads((clone / "bench" / "results" / "index_speed-2.json").read_text())
    assert result["corpus"] == {**result["corpus"], "articles": 2, "vocabulary": "word list"}
    assert result["chunks"] > 0 and result["changed_articles"] == 1
    assert "index / embed-only" in out


def test_vs_llamaindex_tiny_skips_dev(clone: Path) -> None:
    out = run(clone, "vs_llamaindex.py", "-n", "2", "--queries", "2")
    result = json.loads((clone / "bench" / "results" / "vs_llamaindex-2.json").read_text())
    assert result["newsdesk"]["chunks"] > 0 and result["llamaindex"]["chunks"] > 0
    assert result["newsdesk"]["reindex_chunks_embedded"] < result["newsdesk"]["chunks"]
    assert str(result["dev"]).startswith("no dev set")
    assert "llama / newsdesk" in out


def test_query_speed_tiny_uses_sample_articles(clone: Path) -> None:
    out = run(clone, "query_speed.py", "--chunks", "300", "--queries", "3", "--base", "10")
    result = json.loads((clone / "bench" / "results" / "query_speed.json").read_text())
    assert result["chunks"] == 300 and result["vectors"].startswith("synthetic: sample-article passages")
    assert "search (hybrid, k=10)" in result["latency_ms"]
    assert "SYNTHETIC vectors" in out


def test_index_scale_tiny_on_disk_and_against_its_own_chroma_server(clone: Path) -> None:
    run(clone, "index_scale.py", "--sizes", "3", "6")
    out = run(clone, "index_scale.py", "--sizes", "3", "6", "--server")
    on_disk = json.loads((clone / "bench" / "results" / "index_scale.json").read_text())
    server = json.loads((clone / "bench" / "results" / "index_scale-server.json").read_text())
    assert [r["articles"] for r in on_disk["rows"]] == [3, 6] and on_disk["server"] is False
    assert server["server"] is True and all(r["server_peak_rss_mb"] > 0 for r in server["rows"])
    assert all(r["chunks"] > 0 and r["peak_rss_mb"] > 0 for r in on_disk["rows"] + server["rows"])
    assert "SYNTHETIC vectors" in out and "chroma run" in out


def test_story_grouping_tiny_skips_dev(clone: Path) -> None:
    out = run(clone, "story_grouping.py", "--stories", "4")
    result = json.loads((clone / "bench" / "results" / "story_grouping.json").read_text())
    assert result["vocabulary"] == "word list" and "short" not in result
    assert result["long"]["articles"] > 6 and result["store"]["precision"] == 1.0
    assert "short: skipped: no dev set" in out and "threshold  precision  recall" in out


def test_answer_latency_answers_the_sample_conversations(clone: Path) -> None:
    out = run(clone, "answer_latency.py")
    assert "first answer" in out and "later answers (29)" in out
