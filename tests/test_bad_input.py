"""Bad input gets a one-line reason, the rest is indexed, and nothing already indexed changes."""

from __future__ import annotations

import os
import re
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fixtures.hostile import GOOD_TEXT, write_bad_inputs, write_huge_text

from index import Indexer, Settings, Store
from index.loaders import load_file

KYIV = "kyiv-100-missiles-2024-01-02.txt"


def snapshot(store: Store) -> dict[str, Any]:
    """Every stored passage (text, metadata, vector) and every article record, keyed by id."""
    got = store.chunks.get(include=["metadatas", "documents", "embeddings"])
    chunks = {i: (d, m, [float(x) for x in e]) for i, d, m, e in
              zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}
    return {"chunks": chunks, "records": store.records()}


def test_every_bad_input_is_reported_and_the_rest_indexed(indexer: Indexer, news_dir: Path, embedder) -> None:
    first = indexer.sync([news_dir])
    assert first.added == 2
    before = snapshot(indexer.store)

    cases = write_bad_inputs(news_dir / "incoming")
    (news_dir / "incoming" / "transport-plan-2024-05-06.txt").write_text(f"Transport plan approved\n{GOOD_TEXT}\n")
    embedder.reset()
    report = indexer.sync([news_dir])

    by_location = {f.location: f.reason for f in report.failures}
    for case in cases:
        origin = str((news_dir / "incoming" / case.name).absolute())
        location = f"{origin}:{case.line}" if case.line else origin
        assert location in by_location, f"{case.name} (line {case.line}) was not reported"
        assert re.search(case.reason, by_location[location]), (case.name, by_location[location])
    assert len(report.failures) == len(cases), [str(f) for f in report.failures]
    assert all("\n" not in str(f) for f in report.failures), "each reason is one line"

    # The good articles around the bad ones are indexed: the new text file and the good JSONL lines.
    assert (report.added, report.updated, report.unchanged, report.removed) == (4, 0, 2, 0)
    assert report.summary() == f"added 4, updated 0, unchanged 2, removed 0, failed {len(cases)}"
    titles = {r.title for r in indexer.store.records().values()}
    assert {"Transport plan approved", "Wire one", "Wire three", "Wire six"} <= titles
    partly_good = {c.name for c in cases if c.indexed_titles}
    bad_origins = {str((news_dir / "incoming" / c.name).absolute()) for c in cases if c.name not in partly_good}
    after = snapshot(indexer.store)
    assert not {m["origin"] for _, m, _ in after["chunks"].values()} & bad_origins, "nothing of a bad file indexed"

    # What was indexed before is untouched: same passages, same vectors, same records.
    assert {k: after["chunks"][k] for k in before["chunks"]} == before["chunks"]
    assert {k: after["records"][k] for k in before["records"]} == before["records"]

    # Bad files cost nothing on the next run and are reported again.
    embedder.reset()
    again = indexer.sync([news_dir])
    assert again.summary() == f"added 0, updated 0, unchanged 6, removed 0, failed {len(cases)}"
    assert embedder.texts == []
    assert snapshot(indexer.store) == after


def test_indexed_file_that_turns_bad_keeps_its_indexed_version(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    before = snapshot(indexer.store)
    path = news_dir / KYIV
    corruptions = {
        "not valid UTF-8": path.read_bytes().replace(b"Kiev", b"Ki\xe8v", 1),
        "empty file": b"",
        "binary file": b"\x00\x01\x02" * 100,
    }
    for reason, data in corruptions.items():
        path.write_bytes(data)
        report = indexer.sync([news_dir])
        assert report.summary() == "added 0, updated 0, unchanged 1, removed 0, failed 1", reason
        assert report.failures[0].origin == str(path.absolute()) and reason in report.failures[0].reason
        assert snapshot(indexer.store) == before, f"{reason}: the indexed version must stay as it was"
    write_huge_text(path)
    report = indexer.sync([news_dir])
    assert report.failed == 1 and "file too large" in report.failures[0].reason
    assert snapshot(indexer.store) == before


def test_jsonl_line_that_turns_bad_keeps_its_article(indexer: Indexer, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = [f'{{"title": "Story {i}", "text": "Story number {i}. {GOOD_TEXT}"}}' for i in range(1, 4)]
    feed.write_text("\n".join(lines) + "\n")
    assert indexer.sync([feed]).added == 3
    before = snapshot(indexer.store)
    lines[1] = lines[1][:30]  # the middle line is cut off mid-string
    feed.write_text("\n".join(lines) + "\n")
    report = indexer.sync([feed])
    assert report.summary() == "added 0, updated 0, unchanged 2, removed 0, failed 1"
    assert report.failures[0].location == f"{feed.absolute()}:2"
    assert report.failures[0].reason.startswith("malformed JSON")
    assert snapshot(indexer.store) == before, "story 2 stays until its line is readable again"


def test_huge_file_is_refused_without_being_read(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "huge.txt"
    write_huge_text(path)
    assert path.stat().st_size > 50 * 1024 * 1024
    tracemalloc.start()
    try:
        loaded = load_file(path, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.reason for f in loaded.failures] == ["file too large (50.0 MB > 20 MB limit)"]
    assert peak < 1024 * 1024, f"{peak} bytes allocated: the file was read"


def test_utf16_file_with_bom_indexes_correctly(indexer: Indexer, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    text = "Schnee legt Verkehr lahm — “Chaos” in München\n" + GOOD_TEXT + " Straßen blieben gesperrt.\n"
    (folder / "snow-2024-01-17.txt").write_bytes(text.encode("utf-16"))  # BOM + little-endian
    report = indexer.sync([folder])
    assert report.summary() == "added 1, updated 0, unchanged 0, removed 0, failed 0"
    got = indexer.store.chunks.get(include=["metadatas", "documents"])
    body = text.split("\n", 1)[1].strip()
    assert got["metadatas"][0]["title"] == "Schnee legt Verkehr lahm — “Chaos” in München"
    assert got["metadatas"][0]["published"] == "2024-01-17"
    for meta, doc in zip(got["metadatas"], got["documents"]):
        assert body[meta["start"]:meta["end"]] == doc
    assert "Straßen" in " ".join(got["documents"])


def test_missing_folder_is_reported_and_removes_nothing(indexer: Indexer, news_dir: Path, tmp_path: Path) -> None:
    """An unmounted drive or a renamed folder must not look like every article was deleted."""
    indexer.sync([news_dir])
    before = snapshot(indexer.store)
    shutil.move(news_dir, tmp_path / "moved")
    report = indexer.sync([news_dir, tmp_path / "nowhere.jsonl"])
    assert report.summary() == "added 0, updated 0, unchanged 0, removed 0, failed 2"
    assert [f.reason for f in report.failures] == ["no such file or folder"] * 2
    assert snapshot(indexer.store) == before


def test_unreadable_file_is_reported(indexer: Indexer, news_dir: Path) -> None:
    path = news_dir / KYIV
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reads (dangling symlinks cover unreadable paths)")
        report = indexer.sync([news_dir])
        assert report.summary() == "added 1, updated 0, unchanged 0, removed 0, failed 1"
        assert report.failures[0].reason == "cannot read: Permission denied"
    finally:
        path.chmod(0o644)


def test_directory_named_like_an_article_is_walked_not_read(indexer: Indexer, news_dir: Path) -> None:
    odd = news_dir / "folder.txt"
    odd.mkdir()
    (odd / "inner-2024-02-02.txt").write_text(f"Inner story\n{GOOD_TEXT}\n")
    report = indexer.sync([news_dir, odd])
    assert report.summary() == "added 3, updated 0, unchanged 0, removed 0, failed 0"
