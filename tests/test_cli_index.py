"""`newsdesk index` and `newsdesk status` as a user runs them: output lines and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main

NEWSDESK = Path(sys.executable).with_name("newsdesk")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("NEWSDESK_HOME", "NEWSDESK_CHROMA_HOST", "NEWSDESK_EMBED_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """Two short articles: one passage each, so the CLI tests spend their time on the CLI, not the model."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "harbour-2024-03-01.txt").write_text(
        "Harbour reopens after storm\nThe harbour reopened on Friday after three days of repairs, the port said.\n")
    (folder / "budget-2024-03-02.txt").write_text(
        "Council passes budget\nThe city council passed next year's budget by a narrow margin on Saturday.\n")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, list[str], str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def index(capsys: pytest.CaptureFixture[str], home: Path, folder: Path) -> tuple[int, list[str], str]:
    return run(capsys, "--home", home, "index", "--quiet", folder)


def test_index_prints_summary_and_exits_0_then_unchanged(home: Path, news: Path, capsys) -> None:
    code, out, _ = index(capsys, home, news)
    assert (code, out) == (0, ["added 2, updated 0, unchanged 0, removed 0, failed 0"])
    code, out, _ = index(capsys, home, news)
    assert (code, out) == (0, ["added 0, updated 0, unchanged 2, removed 0, failed 0"])
    (news / "budget-2024-03-02.txt").unlink()
    code, out, _ = index(capsys, home, news)
    assert (code, out) == (0, ["added 0, updated 0, unchanged 1, removed 1, failed 0"])


def test_failures_exit_1_with_one_line_per_file_and_line(home: Path, news: Path, capsys) -> None:
    (news / "empty.txt").write_bytes(b"")
    (news / "wire.jsonl").write_text('{"title": "Good", "text": "A good wire story about the harbour."}\n'
                                     "{not json}\n")
    code, out, _ = index(capsys, home, news)
    assert code == 1
    assert out[0] == "added 3, updated 0, unchanged 0, removed 0, failed 2"
    assert out[1:] == [
        f"  failed  {news / 'empty.txt'}: empty file",
        f"  failed  {news / 'wire.jsonl'}:2: malformed JSON: Expecting property name enclosed in double quotes "
        "at line 1 column 2",
    ]


def test_missing_path_exits_1(home: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "--home", home, "index", "--quiet", tmp_path / "nope")
    assert code == 1
    assert out == ["added 0, updated 0, unchanged 0, removed 0, failed 1",
                   f"  failed  {tmp_path / 'nope'}: no such file or folder"]


@pytest.mark.parametrize("argv", [[], ["index"], ["index", "--no-such-flag", "x"], ["frobnicate"]])
def test_usage_errors_exit_2(home: Path, capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--home", str(home), *argv])
    assert exited.value.code == 2
    assert "usage: newsdesk" in capsys.readouterr().err
    assert not home.exists(), "a usage error touches nothing"


def test_switching_embedding_model_is_a_usage_error(home: Path, news: Path, capsys, monkeypatch) -> None:
    assert index(capsys, home, news)[0] == 0
    monkeypatch.setenv("NEWSDESK_EMBED_MODEL", "openai:text-embedding-3-small")
    code, out, err = index(capsys, home, news)
    assert code == 2 and out == []
    assert "was indexed with embedding model 'all-MiniLM-L6-v2-onnx-int8'" in err
    assert "into another NEWSDESK_HOME" in err  # advice a user can follow (it used to name an option that never was)


def test_progress_bar_goes_to_stderr_and_summary_to_stdout(home: Path, news: Path, capsys) -> None:
    code, out, err = run(capsys, "--home", home, "index", news)
    assert code == 0 and out == ["added 2, updated 0, unchanged 0, removed 0, failed 0"]
    assert "file" in err and "chunks=" in err


def test_status_shows_what_is_indexed(home: Path, news: Path, capsys) -> None:
    code, out, _ = run(capsys, "--home", home, "status")
    assert code == 0
    assert "articles:        0" in out and "last sync:       never" in out
    index(capsys, home, news)
    code, out, _ = run(capsys, "--home", home, "status")
    lines = dict(line.split(":", 1) for line in out)
    assert code == 0
    assert lines["articles"].strip() == "2"
    assert int(lines["chunks"]) == 2
    assert lines["embedding model"].strip() == "all-MiniLM-L6-v2-onnx-int8"
    assert lines["store"].strip() == str(home / "chroma")
    assert lines["last sync"].strip() != "never"


def test_real_console_script(tmp_path: Path, news: Path) -> None:
    assert NEWSDESK.exists(), f"the newsdesk console script is not installed next to {sys.executable}"
    (news / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    env["NEWSDESK_HOME"] = str(tmp_path / "home")
    done = subprocess.run([NEWSDESK, "index", str(news)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "added 2, updated 0, unchanged 0, removed 0, failed 1",
        f"  failed  {news / 'photo.txt'}: binary file (contains NUL bytes), not text",
    ]
