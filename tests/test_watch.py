"""Watched folders against a real watchdog observer and a real on-disk Chroma: add, modify, delete, bursts."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.cli import main
from assistant.settings import Settings
from index import Indexer
from index.sources.watch import SyncEvent, Watcher, WatchError

ROOT = Path(__file__).resolve().parent.parent
DEBOUNCE = 0.3

HARBOUR = """Valparaiso harbour reopens after storm
The port authority of Valparaiso reopened the harbour on Wednesday after a three-day closure caused by storm
swells of up to seven metres. Pilots resumed guiding container ships through the breakwater at dawn, and
forty-two vessels waiting at anchor in the bay will be berthed over the next four days.
"""
HARBOUR_EDITED = HARBOUR.replace("forty-two vessels", "sixty-one tankers and freighters")


def wait_for(check: Callable[[], object], what: str, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def watch_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"watch_debounce": DEBOUNCE})


@pytest.fixture
def watch_indexer(watch_settings: Settings, embedder) -> Indexer:
    return Indexer(watch_settings, embedder=embedder)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def events() -> queue.Queue[SyncEvent]:
    return queue.Queue()


@pytest.fixture
def watcher(watch_settings: Settings, watch_indexer: Indexer, folder: Path, events: queue.Queue[SyncEvent]):
    w = Watcher(watch_settings, watch_indexer, folders=[folder], on_sync=events.put).start()
    first = events.get(timeout=30)  # the catch-up sync of the (empty) folder
    assert first.kind == "folder" and first.report is not None and first.report.added == 0
    yield w
    w.stop()


def drain(events: queue.Queue[SyncEvent]) -> list[SyncEvent]:
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


def origins(indexer: Indexer) -> dict[str, str]:
    return {r.origin: r.article_id for r in indexer.store.records().values() if r.version}


def test_added_modified_and_deleted_files_are_searchable_then_changed_then_gone(
        watcher: Watcher, watch_indexer: Indexer, folder: Path, minilm) -> None:
    ask = Assistant(watch_indexer.settings, store=watch_indexer.store, embedder=minilm)
    question = "How many ships were waiting at anchor off Valparaiso?"
    path = folder / "harbour.txt"
    path.write_text(HARBOUR)
    wait_for(lambda: str(path) in origins(watch_indexer), "the new file to be indexed")
    hits = ask.search(question, k=3)
    assert hits[0].origin == str(path) and "forty-two vessels" in hits[0].text
    assert hits[0].title == "Valparaiso harbour reopens after storm"

    path.write_text(HARBOUR_EDITED)
    wait_for(lambda: "sixty-one tankers" in " ".join(p.text for p in ask.search(question, k=3)),
             "the edited text to be found")
    found = " ".join(p.text for p in ask.search(question, k=10))
    assert "forty-two" not in found and len(origins(watch_indexer)) == 1

    path.unlink()
    wait_for(lambda: not origins(watch_indexer), "the deleted file to be removed")
    assert ask.search(question, k=3) == []


def test_a_burst_of_files_costs_one_or_two_syncs(watcher: Watcher, watch_indexer: Indexer, folder: Path,
                                                 events: queue.Queue[SyncEvent]) -> None:
    for i in range(25):
        (folder / f"story-{i:02d}.txt").write_text(f"Council vote number {i}\nThe town council approved budget "
                                                   f"line {i} for the harbour repairs after a long debate.\n")
    wait_for(lambda: len(origins(watch_indexer)) == 25, "25 articles")
    time.sleep(DEBOUNCE * 2)
    syncs = drain(events)
    assert 1 <= len(syncs) <= 2, [e.line() for e in syncs]
    assert sum(e.report.added for e in syncs if e.report) == 25


def test_a_half_written_file_is_not_indexed_half(watcher: Watcher, watch_indexer: Indexer, folder: Path,
                                                 events: queue.Queue[SyncEvent]) -> None:
    path = folder / "slow-writer.txt"
    first_half, second_half = HARBOUR[:120], HARBOUR[120:]
    with path.open("w") as handle:
        for i in range(0, len(first_half), 15):  # a slow writer: pieces closer together than the debounce
            handle.write(first_half[i:i + 15])
            handle.flush()
            time.sleep(DEBOUNCE / 3)
        time.sleep(DEBOUNCE * 4)  # then a pause longer than the debounce, the file still open
        assert str(path) not in origins(watch_indexer), "indexed while still being written"
        handle.write(second_half)
    wait_for(lambda: str(path) in origins(watch_indexer), "the finished file to be indexed")
    time.sleep(DEBOUNCE * 2)
    syncs = [e for e in drain(events) if e.report]
    assert sum(e.report.added for e in syncs) == 1 and sum(e.report.updated for e in syncs) == 0
    got = watch_indexer.store.chunks.get(where={"origin": str(path)}, include=["documents"])
    assert "berthed over the next four days" in " ".join(got["documents"])


def test_temp_files_renames_and_moves(watcher: Watcher, watch_indexer: Indexer, folder: Path) -> None:
    partial = folder / "download.txt.part"
    partial.write_text(HARBOUR)
    hidden = folder / ".draft.txt"
    hidden.write_text(HARBOUR_EDITED)
    time.sleep(DEBOUNCE * 3)
    assert origins(watch_indexer) == {}

    final = folder / "harbour.txt"
    partial.rename(final)  # the atomic "write elsewhere, then rename" pattern
    wait_for(lambda: str(final) in origins(watch_indexer), "the renamed file to be indexed")

    (folder / "archive").mkdir()
    moved = folder / "archive" / "harbour.txt"
    final.rename(moved)
    wait_for(lambda: list(origins(watch_indexer)) == [str(moved)], "the move to be reflected")


def test_watching_a_single_jsonl_file(watch_settings: Settings, watch_indexer: Indexer, folder: Path,
                                     events: queue.Queue[SyncEvent]) -> None:
    feed = folder / "wire.jsonl"
    line = ('{{"id": "{0}", "title": "Wire story {0}", '
            '"text": "Dispatch {0}: the ferry to the island resumed service."}}\n')
    feed.write_text(line.format(1))
    (folder / "other.txt").write_text(HARBOUR)  # beside the watched file: ignored
    with Watcher(watch_settings, watch_indexer, folders=[feed], on_sync=events.put):
        wait_for(lambda: len(watch_indexer.store.records()) == 1, "the first line")
        with feed.open("a") as handle:
            handle.write(line.format(2))
        wait_for(lambda: len(watch_indexer.store.records()) == 2, "the appended line")
        feed.write_text(line.format(2))
        wait_for(lambda: set(watch_indexer.store.records()) == {"id:2"}, "the removed line to go")
    assert all(e.kind == "file" for e in drain(events))


def test_missing_folders_and_bad_feeds_are_refused_up_front(watch_settings: Settings, watch_indexer: Indexer,
                                                           tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="no such file or folder"):
        Watcher(watch_settings, watch_indexer, folders=[tmp_path / "nope"])
    with pytest.raises(WatchError, match="http"):
        Watcher(watch_settings, watch_indexer, feeds=["ftp://example.org/feed.xml"])


def test_cli_watch_prints_one_line_per_sync_and_stops_on_ctrl_c(settings: Settings, folder: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    env = {**os.environ, "NEWSDESK_WATCH_DEBOUNCE": str(DEBOUNCE), "PYTHONUNBUFFERED": "1"}
    # Ctrl-C as a terminal sends it, even when the suite itself runs in the background (where SIGINT is ignored,
    # and children inherit that).
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "--home", str(settings.home), "watch",
                             str(folder)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x.rstrip("\n")) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        first = lines.get(timeout=60)
        assert f"folder {folder}: added 0, updated 0, unchanged 0, removed 0, failed 0" in first
        (folder / "harbour.txt").write_text(HARBOUR)
        second = lines.get(timeout=30)
        assert second.endswith(f"folder {folder}: added 1, updated 0, unchanged 0, removed 0, failed 0")
        (folder / "broken.json").write_text("{not json")
        third = lines.get(timeout=30)
        assert "failed 1 — " in third and "broken.json: malformed JSON" in third
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert main(["--home", str(settings.home), "status"]) == 0
    out = capsys.readouterr().out
    assert f"watching:        {folder} — last sync " in out and "1 articles" in out
    assert "last error: 1 failed:" in out and "malformed JSON" in out


def test_an_unencodable_article_or_file_name_fails_alone_and_is_not_retried(
        watcher: Watcher, watch_indexer: Indexer, folder: Path, tmp_path: Path,
        events: queue.Queue[SyncEvent]) -> None:
    """Before: the sync raised UnicodeEncodeError, so the watcher indexed nothing of the batch and retried the whole
    folder with backoff, forever."""
    staging = tmp_path / "staging"  # moved in whole: one event, one sync
    staging.mkdir()
    (staging / "harbour.txt").write_text(HARBOUR)
    (staging / "wire.jsonl").write_text('{"id": "w1", "title": "Ferry", "text": "The island ferry resumed."}\n'
                                        '{"id": "w2", "title": "Bad", "text": "Broken \\udc00 escape."}\n')
    with open(os.fsencode(staging) + b"/caf\xe9.txt", "w") as handle:  # a name that is not UTF-8
        handle.write(HARBOUR_EDITED)
    staging.rename(folder / "batch")

    event = events.get(timeout=30)
    assert event.report is not None and "retrying" not in event.summary, event.line()  # a report, not a crash
    assert (event.report.added, event.report.failed) == (2, 2), event.line()
    assert sorted(str(f) for f in event.report.failures) == [
        f"{folder}/batch/caf\\xe9.txt: the file name is not valid UTF-8 (byte 0xe9); rename it",
        f"{folder}/batch/wire.jsonl:2: the text contains an invalid character (lone surrogate U+DC00 at character "
        "8); re-save the file as UTF-8",
    ]
    assert "caf\\xe9.txt" in event.line() and "(+1 more)" in event.line()
    assert set(watch_indexer.store.records()) == {"id:w1", f"file:{folder}/batch/harbour.txt"}
    time.sleep(DEBOUNCE * 10)
    assert drain(events) == [], "synced again without any change"
    assert "caf\\xe9.txt" in watcher.state.get(str(folder))["error"]  # what `newsdesk status` shows


def test_a_link_out_of_the_watched_folder_is_skipped(watcher: Watcher, watch_indexer: Indexer, folder: Path,
                                                    tmp_path: Path, events: queue.Queue[SyncEvent]) -> None:
    """A new file is synced by its own path, which the CLI treats as the user's explicit choice: the watcher says
    the path was found in its folder, so a link out of it is skipped there too."""
    secret = tmp_path / "secret.txt"
    secret.write_text(HARBOUR)
    (folder / "x.txt").symlink_to(secret)
    event = events.get(timeout=30)
    assert event.report is not None and (event.report.added, event.report.failed) == (0, 1), event.line()
    assert str(event.report.failures[0]) == (f"{folder / 'x.txt'}: symbolic link to a file outside {folder}: "
                                             "skipped (set NEWSDESK_FOLLOW_EXTERNAL_LINKS=1 to index it)")
    assert origins(watch_indexer) == {}
    (folder / "inside.txt").write_text(HARBOUR_EDITED)
    (folder / "alias.txt").symlink_to(folder / "inside.txt")  # a link within the folder keeps working
    wait_for(lambda: str(folder / "alias.txt") in origins(watch_indexer), "the inside link to be indexed")
