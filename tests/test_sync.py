"""Incremental sync against a real on-disk Chroma: counts, no-op re-syncs, edits, deletions, duplicates."""

from __future__ import annotations

import json
from pathlib import Path

from index import Indexer, Store
from index.store import chunk_id

KYIV = "kyiv-100-missiles-2024-01-02.txt"
PUTIN = "putin-duel-kyiv-strike-2024-12-20.txt"


def chunk_rows(store: Store) -> list[dict]:
    got = store.chunks.get(include=["metadatas", "documents"])
    return [dict(m, id=i, text=d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])]


def test_first_sync_indexes_every_article_with_exact_spans(indexer: Indexer, news_dir: Path) -> None:
    report = indexer.sync([news_dir])
    assert (report.added, report.updated, report.unchanged, report.removed, report.failed) == (2, 0, 0, 0, 0)
    assert report.summary() == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    rows = chunk_rows(indexer.store)
    assert len(rows) == report.chunks_written > 2
    texts = {}
    for path in news_dir.iterdir():
        lines = path.read_text().strip().splitlines()
        texts[str(path)] = "\n".join(lines[1:]).strip()
    for row in rows:
        assert texts[row["origin"]][row["start"]:row["end"]] == row["text"]
    kyiv = [r for r in rows if r["origin"].endswith(KYIV)]
    assert {r["published"] for r in kyiv} == {"2024-01-02"}
    assert kyiv[0]["title"].startswith("Russia Pounds Kiev With 100 Missiles")


def test_second_sync_is_all_unchanged_with_zero_embedding_calls(indexer: Indexer, news_dir: Path, embedder) -> None:
    indexer.sync([news_dir])
    before = chunk_rows(indexer.store)
    embedder.reset()
    report = indexer.sync([news_dir])
    assert report.summary() == "added 0, updated 0, unchanged 2, removed 0, failed 0"
    assert embedder.texts == []
    assert chunk_rows(indexer.store) == before


def test_editing_one_article_replaces_exactly_its_chunks(indexer: Indexer, news_dir: Path, embedder) -> None:
    indexer.sync([news_dir])
    before = chunk_rows(indexer.store)
    kyiv_before = {r["id"] for r in before if r["origin"].endswith(KYIV)}
    putin_before = [r for r in before if r["origin"].endswith(PUTIN)]
    path = news_dir / KYIV
    appended = "\nOfficials said on Wednesday that repairs to the power grid would take weeks.\n"
    path.write_text(path.read_text() + appended)
    embedder.reset()
    report = indexer.sync([news_dir])
    assert report.summary() == "added 0, updated 1, unchanged 1, removed 0, failed 0"
    after = chunk_rows(indexer.store)
    kyiv_after = [r for r in after if r["origin"].endswith(KYIV)]
    assert not kyiv_before & {r["id"] for r in kyiv_after}, "old passages of the edited article must be gone"
    assert any("power grid" in r["text"] for r in kyiv_after)
    assert [r for r in after if r["origin"].endswith(PUTIN)] == putin_before
    # An appended paragraph re-embeds only the passages whose text changed, not the whole article.
    assert 1 <= len(embedder.texts) <= 2 < len(kyiv_after)


def test_corrected_headline_reembeds_only_headed_passages_once(indexer: Indexer, news_dir: Path, embedder) -> None:
    indexer.sync([news_dir])
    path = news_dir / PUTIN
    text = path.read_text()
    path.write_text(text.replace("Putin’s Bold ‘Duel’ Threat", "Putin’s ‘Duel’ Threat", 1))
    embedder.reset()
    report = indexer.sync([news_dir])
    assert report.updated == 1
    # The title is part of every passage's embedded header, so each passage is embedded again exactly once.
    n = sum(1 for r in chunk_rows(indexer.store) if r["origin"].endswith(PUTIN))
    assert len(embedder.texts) == n
    assert all(t.startswith("Putin’s ‘Duel’ Threat") for t in embedder.texts)


def test_deleting_a_file_removes_its_chunks(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    (news_dir / KYIV).unlink()
    report = indexer.sync([news_dir])
    assert report.summary() == "added 0, updated 0, unchanged 1, removed 1, failed 0"
    rows = chunk_rows(indexer.store)
    assert rows and not any(r["origin"].endswith(KYIV) for r in rows)
    assert indexer.store.counts()[0] == 1


def test_syncing_one_file_leaves_the_rest_of_the_store_alone(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    report = indexer.sync([news_dir / KYIV])
    assert report.summary() == "added 0, updated 0, unchanged 1, removed 0, failed 0"
    assert indexer.store.counts()[0] == 2


def test_same_article_seen_twice_is_stored_once(indexer: Indexer, news_dir: Path, tmp_path: Path) -> None:
    (news_dir / "copy-of-kyiv.txt").write_text((news_dir / KYIV).read_text())
    feed = news_dir / "wire.jsonl"
    story = {"title": "Wire story", "text": "Kyiv was attacked again overnight, the mayor said. " * 5,
             "url": "https://example.org/wire/1", "published": "2024-12-21"}
    feed.write_text(json.dumps(story) + "\n" + json.dumps(story) + "\n")
    report = indexer.sync([news_dir])
    assert report.added == 3 and report.duplicates == 2 and report.failed == 0
    assert indexer.store.counts()[0] == 3
    # Removing the stored copy promotes its twin instead of losing the story.
    stored = [r.origin for r in indexer.store.records().values() if r.title.startswith("Russia Pounds Kiev")]
    assert len(stored) == 1
    Path(stored[0]).unlink()
    report = indexer.sync([news_dir])
    assert report.removed == 1 and report.added == 1
    titles = [r.title for r in indexer.store.records().values()]
    assert sum(t.startswith("Russia Pounds Kiev") for t in titles) == 1


def test_killed_run_leaves_no_visible_half_article_and_rerun_completes(indexer: Indexer, news_dir: Path) -> None:
    """Simulates a crash after passages were written but before the article was committed."""
    store = indexer.store
    indexer.sync([news_dir])
    record = store.records()[f"file:{news_dir / KYIV}"]
    from dataclasses import replace

    store.put_records([replace(record, pending="deadbeefdeadbeef")])
    orphan = chunk_id(record.article_id, "deadbeefdeadbeef", 0)
    store.chunks.upsert(ids=[orphan], embeddings=[[0.0] * 384], documents=["half written"],
                        metadatas=[{"article_id": record.article_id, "version": "deadbeefdeadbeef"}])
    report = indexer.sync([news_dir])
    assert report.failed == 0
    assert store.chunks.get(ids=[orphan])["ids"] == []
    assert all(r.pending == "" for r in store.records().values())


def test_changing_the_embedding_model_is_refused(indexer: Indexer, news_dir: Path, settings) -> None:
    indexer.sync([news_dir])

    class Other:
        model_id, dim = "another-model", 384

        def embed(self, texts):
            raise AssertionError("must not embed")

    import pytest

    from index import StoreError

    with pytest.raises(StoreError, match="all-MiniLM-L6-v2-onnx-int8"):
        Indexer(settings, embedder=Other()).sync([news_dir])
    assert indexer.store.counts()[0] == 2


def test_report_lists_failures_and_changes_but_only_counts_the_unchanged(indexer: Indexer, tmp_path: Path,
                                                                         monkeypatch) -> None:
    """A big library's report stays small: every failure, a bounded number of changes, a count for the rest."""
    from assistant.web.render import report_html
    from index.pipeline import report as reports

    monkeypatch.setattr(reports, "MAX_LISTED", 3)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(6):
        (folder / f"bulletin-{i}.txt").write_text(f"Bulletin {i}\nThe ferry number {i} sails at dawn from the pier.\n")
    (folder / "broken.json").write_text("{not json")
    report = indexer.sync([folder])
    assert (report.added, report.failed, report.unlisted) == (6, 1, 3)
    assert [i.status for i in report.items].count("added") == 3
    assert [i for i in report.items if i.status == "failed"][0].location.endswith("broken.json")
    html = report_html("Re-index", report)
    assert "added 6" in html and "… and 3 more not listed" in html and "malformed JSON" in html

    again = indexer.sync([folder])
    assert (again.unchanged, again.unlisted) == (6, 0)
    assert [i.status for i in again.items] == ["failed"], "unchanged articles are counted, not listed"
