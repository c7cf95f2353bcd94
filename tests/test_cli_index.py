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


def newsdesk(tmp_path: Path, *argv: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (in ``tmp_path``, with a home of its own)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    clean |= {"NEWSDESK_HOME": str(tmp_path / "home"), **(env or {})}
    return subprocess.run([NEWSDESK, *map(str, argv)], env=clean, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_cli_one_unencodable_article_or_file_name_fails_alone(tmp_path: Path, news: Path) -> None:
    """Before: a ``"\\udc00"`` escape raised UnicodeEncodeError in the content hash: a traceback, nothing indexed."""
    (news / "wire.jsonl").write_text('{"id": "w1", "title": "Ferry", "text": "The island ferry resumed service."}\n'
                                     '{"id": "w2", "title": "Broken \\udc00 title", "text": "Text."}\n'
                                     '{"id": "w3", "title": "Tram", "text": "The tram line opened on Sunday."}\n')
    with open(os.fsencode(news) + b"/caf\xe9-2024-03-03.txt", "w") as handle:  # a Latin-1 name, not UTF-8
        handle.write("Cafe reopens\nThe cafe on the quay reopened after the storm.\n")

    done = newsdesk(tmp_path, "index", "--quiet", news)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "added 4, updated 0, unchanged 0, removed 0, failed 2",
        f"  failed  {news}/caf\\xe9-2024-03-03.txt: the file name is not valid UTF-8 (byte 0xe9); rename it",
        f"  failed  {news / 'wire.jsonl'}:2: the title contains an invalid character (lone surrogate U+DC00 at "
        "character 8); re-save the file as UTF-8",
    ]
    again = newsdesk(tmp_path, "index", "--quiet", news)
    assert again.stdout.splitlines()[0] == "added 0, updated 0, unchanged 4, removed 0, failed 2"


def test_cli_failure_list_is_capped_and_names_are_escaped_one_line_each(tmp_path: Path, news: Path) -> None:
    """Before: 10,000 bad files printed 10,000 lines, and a file name with a newline or an ESC split the line or
    drove the terminal."""
    for i in range(60):
        (news / f"empty-{i:02d}.txt").write_bytes(b"")
    (news / "a\nfailed  forged.txt").write_bytes(b"")  # a newline that would forge a line of its own
    (news / "b\x1b[2Jclear.txt").write_bytes(b"")  # ESC [2J clears the screen

    done = newsdesk(tmp_path, "index", "--quiet", news)
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and "\x1b" not in done.stdout
    assert lines[0] == "added 2, updated 0, unchanged 0, removed 0, failed 62"
    assert lines[1:3] == [f"  failed  {news}/a\\nfailed  forged.txt: empty file",
                          f"  failed  {news}/b\\x1b[2Jclear.txt: empty file"]
    assert lines[3:51] == [f"  failed  {news / f'empty-{i:02d}.txt'}: empty file" for i in range(48)]
    assert lines[51:] == ["  and 12 more failures (newsdesk -v index ... lists them all)"]

    everything = newsdesk(tmp_path, "-v", "index", "--quiet", news).stdout.splitlines()
    assert len(everything) == 1 + 62 and everything[-1] == f"  failed  {news / 'empty-59.txt'}: empty file"


@pytest.mark.parametrize(("arg", "reason"), [
    ("file:///etc/hosts", "only http(s) URLs are indexed, not file: URLs"),
    ("gopher://x/", "only http(s) URLs are indexed, not gopher: URLs"),
    ("FTP://example.org/a.txt", "only http(s) URLs are indexed, not ftp: URLs"),
    ("http:///no-host", "URL without a host"),
])
def test_cli_urls_of_other_kinds_are_refused_as_urls(tmp_path: Path, news: Path, arg: str, reason: str) -> None:
    """Before: these were taken for paths and reported as "no such file or folder"."""
    done = newsdesk(tmp_path, "index", "--quiet", news, arg)
    assert (done.returncode, done.stdout.splitlines()) == (1, [
        "added 2, updated 0, unchanged 0, removed 0, failed 1", f"  failed  {arg}: {reason}"]), done.stderr


def test_cli_links_out_of_the_folder_are_skipped_unless_allowed(tmp_path: Path, news: Path) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "archive").mkdir(parents=True)
    (outside / "payroll.txt").write_text("Payroll\nThe newsroom payroll for March, not an article.\n")
    (outside / "archive" / "memo.txt").write_text("Memo\nAn internal memo about the office move in April.\n")
    (news / "x.txt").symlink_to(outside / "payroll.txt")
    (news / "elsewhere").symlink_to(outside / "archive", target_is_directory=True)

    done = newsdesk(tmp_path, "index", "--quiet", news)
    hint = "skipped (set NEWSDESK_FOLLOW_EXTERNAL_LINKS=1 to index it)"
    assert (done.returncode, done.stdout.splitlines()) == (1, [
        "added 2, updated 0, unchanged 0, removed 0, failed 2",
        f"  failed  {news / 'elsewhere'}: symbolic link to a folder outside {news}: {hint}",
        f"  failed  {news / 'x.txt'}: symbolic link to a file outside {news}: {hint}",
    ])
    named = newsdesk(tmp_path, "index", "--quiet", news / "x.txt")  # named itself: the user's explicit choice
    assert named.returncode == 0
    assert named.stdout.splitlines() == ["added 1, updated 0, unchanged 0, removed 0, failed 0"]
    followed = newsdesk(tmp_path, "index", "--quiet", news, env={"NEWSDESK_FOLLOW_EXTERNAL_LINKS": "1"})
    assert followed.returncode == 0, followed.stdout
    assert followed.stdout.startswith("added 1, updated 0, unchanged 3, removed 0, failed 0")  # elsewhere/memo.txt
