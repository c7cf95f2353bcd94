"""Bad input gets a one-line reason, the rest is indexed, and nothing already indexed changes."""

from __future__ import annotations

import os
import re
import shutil
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixtures.hostile import GOOD_TEXT, write_bad_inputs, write_huge_text

from assistant.settings import Settings
from index import Indexer, Store
from index.sources.loaders import load_file

KYIV = "kyiv-100-missiles-2024-01-02.txt"


def snapshot(store: Store) -> dict[str, Any]:
    """Every stored passage (text, metadata, vector) and every article record, keyed by id. Story labels are left
    out: they move when a near-copy of an article arrives (these tests' articles share one paragraph)."""
    got = store.chunks.get(include=["metadatas", "documents", "embeddings"])
    chunks = {i: (d, m, [float(x) for x in e]) for i, d, m, e in
              zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}
    return {"chunks": chunks, "records": {rid: replace(r, story="") for rid, r in store.records().items()}}


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


def bad_name(folder: Path, name: bytes) -> Path:
    """A file whose name is not UTF-8, as a download from a Latin-1 system leaves it: Python sees the byte
    surrogate-escaped (``caf\\udce9``), which UTF-8 cannot encode."""
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    path.write_text(f"Caf\u00e9 reopens on the quay\n{GOOD_TEXT}\n")
    return path


def test_lone_surrogates_fail_alone_and_every_resync_keeps_working(indexer: Indexer, news_dir: Path) -> None:
    """Before: one ``"\\udc00"`` escape raised UnicodeEncodeError while hashing, so the run indexed nothing, and a
    file left in the folder (a web upload) made every later Re-index fail the same way."""
    wire = news_dir / "wire.jsonl"
    good = [f'{{"title": "Wire {i}", "text": "Wire story {i}. {GOOD_TEXT}"}}' for i in (1, 2, 3)]
    wire.write_text("\n".join(good) + "\n")
    assert indexer.sync([news_dir]).added == 5
    before = snapshot(indexer.store)

    # Line 2, indexed before, turns bad: its article stays. Line 4 is new and bad in its title.
    wire.write_text("\n".join([good[0], '{"title": "Wire 2", "text": "Wire story 2 \\udc00 broken."}', good[2],
                               '{"title": "Bad \\ud800 title", "text": "' + GOOD_TEXT + '"}']) + "\n")
    (news_dir / "front-matter.md").write_text(f'---\ntitle: "Escaped \\udcff in YAML"\n---\n{GOOD_TEXT}\n')
    (news_dir / "single.json").write_text('{"title": "Ferry", "author": "A \\udc80 B", "text": "' + GOOD_TEXT + '"}')
    latin1 = bad_name(news_dir, b"caf\xe9-2024-05-01.txt")
    (news_dir / "transport-2024-05-06.txt").write_text(f"Transport plan approved\n{GOOD_TEXT}\n")

    for attempt in ("first", "again"):  # the second is what the web app's Re-index does
        report = indexer.sync([news_dir])
        assert report.summary() == ("added 1, updated 0, unchanged 4, removed 0, failed 5" if attempt == "first"
                                    else "added 0, updated 0, unchanged 5, removed 0, failed 5"), attempt
        assert sorted(str(f) for f in report.failures) == sorted([
            f"{wire}:2: the text contains an invalid character (lone surrogate U+DC00 at character 14); "
            "re-save the file as UTF-8",
            f"{wire}:4: the title contains an invalid character (lone surrogate U+D800 at character 5); "
            "re-save the file as UTF-8",
            f"{news_dir / 'front-matter.md'}: the title contains an invalid character (lone surrogate U+DCFF at "
            "character 9); re-save the file as UTF-8",
            f"{news_dir / 'single.json'}: the author contains an invalid character (lone surrogate U+DC80 at "
            "character 3); re-save the file as UTF-8",
            f"{news_dir}/caf\\xe9-2024-05-01.txt: the file name is not valid UTF-8 (byte 0xe9); rename it",
        ])
        assert [f.origin for f in report.failures if "file name" in f.reason] == [str(latin1)]
        for shown in [str(f) for f in report.failures] + [i.location + i.reason for i in report.items]:
            shown.encode("utf-8")  # printable and storable as they are (CLI, web table, sources.json)

    after = snapshot(indexer.store)
    assert {k: after["chunks"][k] for k in before["chunks"]} == before["chunks"], "wire line 2 keeps its article"
    assert {k: after["records"][k] for k in before["records"]} == before["records"]
    assert {r.title for r in after["records"].values()} == {r.title for r in before["records"].values()} | {
        "Transport plan approved"}


SECRET = "Outside the news folder\nThe quarterly salary spreadsheet of the newsroom lives outside the indexed folder.\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file and a folder beside the news folder, that links inside it point to."""
    folder = tmp_path / "elsewhere"
    (folder / "private").mkdir(parents=True)
    (folder / "secret.txt").write_text(SECRET)
    (folder / "private" / "notes.txt").write_text(SECRET.replace("salary spreadsheet", "board minutes"))
    (folder / "diary.txt").write_text(SECRET.replace("salary spreadsheet", "editor's diary"))
    return folder


def indexed_texts(indexer: Indexer) -> str:
    return " ".join(indexer.store.chunks.get(include=["documents"])["documents"])


def test_links_out_of_the_folder_are_skipped_and_links_inside_followed(indexer: Indexer, news_dir: Path,
                                                                      outside: Path) -> None:
    """Before: ``ln -s /etc/passwd news/x.txt`` was indexed (the type check reads the link's own name)."""
    (news_dir / "x.txt").symlink_to(outside / "secret.txt")
    (news_dir / "relative.txt").symlink_to(Path("..") / "elsewhere" / "diary.txt")
    (news_dir / "more").symlink_to(outside / "private", target_is_directory=True)
    (news_dir / ".drafts" / "sub").mkdir(parents=True)  # hidden: reached only through the links below
    (news_dir / ".drafts" / "transport.txt").write_text(f"Transport plan approved\n{GOOD_TEXT}\n")
    (news_dir / ".drafts" / "sub" / "ferry.txt").write_text(f"Ferry timetable extended\nFerries run later. {GOOD_TEXT}")
    (news_dir / "alias.txt").symlink_to(news_dir / ".drafts" / "transport.txt")  # inside: followed
    (news_dir / "mirror").symlink_to(Path(".drafts") / "sub", target_is_directory=True)  # inside: followed

    report = indexer.sync([news_dir])
    hint = "skipped (set NEWSDESK_FOLLOW_EXTERNAL_LINKS=1 to index it)"
    assert sorted(str(f) for f in report.failures) == [
        f"{news_dir / 'more'}: symbolic link to a folder outside {news_dir}: {hint}",
        f"{news_dir / 'relative.txt'}: symbolic link to a file outside {news_dir}: {hint}",
        f"{news_dir / 'x.txt'}: symbolic link to a file outside {news_dir}: {hint}",
    ]
    origins = {r.origin for r in indexer.store.records().values()}
    assert {str(news_dir / "alias.txt"), str(news_dir / "mirror" / "ferry.txt")} <= origins
    assert report.added == 2 + 2
    assert not any(secret in indexed_texts(indexer) for secret in ("salary", "board minutes", "diary"))

    # Named on the command line, a link is the user's explicit choice.
    assert indexer.sync([news_dir / "x.txt"]).added == 1
    indexer.sync([news_dir])  # from the folder the link is skipped again, and what came through it removed

    # NEWSDESK_FOLLOW_EXTERNAL_LINKS=1 follows them all; turned off again, what came through them goes.
    following = Indexer(indexer.settings.model_copy(update={"follow_external_links": True}), store=indexer.store,
                        embedder=indexer.embedder)
    report = following.sync([news_dir])
    assert (report.added, report.failed) == (3, 0) and "board minutes" in indexed_texts(indexer)
    report = indexer.sync([news_dir])
    assert (report.removed, report.failed) == (3, 3)
    assert not any(secret in indexed_texts(indexer) for secret in ("salary", "board minutes", "diary"))
