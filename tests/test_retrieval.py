"""Hybrid retrieval on the sample articles: real Chroma, the real model, real BM25."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import assistant.retrieval.dense
from assistant.retrieval import Retriever
from assistant.retrieval.retriever import READ_MARGIN
from assistant.settings import Settings
from assistant.types import Filters
from index import Indexer
from index.store import ArticleRecord, chunk_id

KYIV = "kyiv-100-missiles-2024-01-02.txt"
PUTIN = "putin-duel-kyiv-strike-2024-12-20.txt"


def retriever(indexer: Indexer, **overrides: object) -> Retriever:
    settings = indexer.settings.model_copy(update=overrides)
    return Retriever(settings, indexer.store, indexer.embedder)


def article_of(passage) -> str:
    return "kyiv" if passage.origin.endswith(KYIV) else "putin" if passage.origin.endswith(PUTIN) else passage.origin


@pytest.fixture
def sourced_dir(tmp_path: Path) -> Path:
    """The sample articles as Markdown with a source and date each (the plain-text copies have no source)."""
    folder = tmp_path / "sourced"
    folder.mkdir()
    for name, source in ((KYIV, "ZeroHedge"), (PUTIN, "The Sun Times")):
        lines = (Path(__file__).parent.parent / "data" / "sample" / name).read_text().strip().splitlines()
        front = f"---\ntitle: \"{lines[0]}\"\nsource: {source}\npublished: {Path(name).stem[-10:]}\n---\n"
        (folder / name.replace(".txt", ".md")).write_text(front + "\n".join(lines[1:]) + "\n")
    return folder


def test_rare_name_is_found_by_keywords(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    keyword_hits = retriever(indexer, retrieval_mode="bm25").search("Zaluzhny", k=5)
    assert keyword_hits and "Zaluzhny" in keyword_hits[0].text
    assert all("Zaluzhny" in p.text or "Zaluzhny" in p.title for p in keyword_hits)  # only passages naming him
    hybrid = retriever(indexer).search("Zaluzhny", k=3)
    assert "Zaluzhny" in hybrid[0].text and article_of(hybrid[0]) == "kyiv"


def test_paraphrase_without_shared_words_is_found_by_dense(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    question = "Zelensky insulted the Kremlin leader online"  # the article says: a tweet calling Putin a "dumbass"
    dense = retriever(indexer, retrieval_mode="dense").search(question, k=3)
    assert any("dumbass" in p.text for p in dense)
    hybrid = retriever(indexer).search(question, k=3)
    assert any("dumbass" in p.text for p in hybrid)


def test_passages_carry_exact_spans_and_metadata_from_both_halves(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    texts = {p.name: "\n".join(p.read_text().strip().splitlines()[1:]).strip() for p in news_dir.iterdir()}
    for mode in ("dense", "bm25", "hybrid"):
        passages = retriever(indexer, retrieval_mode=mode).search("hypersonic missiles intercepted", k=4)
        assert passages, mode
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True), mode
        for p in passages:
            name = Path(p.origin).name
            assert texts[name][p.start:p.end] == p.text, mode
            assert p.published == Path(name).stem[-10:]
            assert p.title and p.article_id and p.chunk_id.startswith(p.chunk_id.split(":")[0] + ":")


@pytest.mark.parametrize(("mode", "dense_filter"), [
    ("hybrid", "over-fetch"), ("hybrid", "ids"), ("hybrid", "where"), ("dense", "where"), ("bm25", "mask")])
def test_date_filters_exclude_the_other_article(indexer: Indexer, news_dir: Path, mode: str, dense_filter: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each way the dense half applies a filter (chosen by how much of a large store the filter lets through)."""
    if dense_filter in ("ids", "where"):
        monkeypatch.setattr(assistant.retrieval.dense, "OVERFETCH_MAX", 0)
    if dense_filter == "where":
        monkeypatch.setattr(assistant.retrieval.dense, "IDS_MAX", 0)
    indexer.sync([news_dir])
    r = retriever(indexer, retrieval_mode=mode)
    december = r.search("missile strike on Kyiv", k=10, filters=Filters(since=date(2024, 12, 1)))
    assert december and {article_of(p) for p in december} == {"putin"}
    january = r.search("missile strike on Kyiv", k=10, filters=Filters(until=date(2024, 1, 31)))
    assert january and {article_of(p) for p in january} == {"kyiv"}
    day = r.search("missile strike on Kyiv", k=10, filters=Filters(since=date(2024, 1, 2), until=date(2024, 1, 2)))
    assert {article_of(p) for p in day} == {"kyiv"}
    assert r.search("missile strike on Kyiv", k=10, filters=Filters(since=date(2025, 1, 1))) == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_source_filter_excludes_the_other_article(indexer: Indexer, sourced_dir: Path, mode: str) -> None:
    indexer.sync([sourced_dir])
    r = retriever(indexer, retrieval_mode=mode)
    assert r.known_sources() == ["The Sun Times", "ZeroHedge"]
    hits = r.search("Putin missiles Kyiv", k=10, filters=Filters(sources=("ZeroHedge",)))
    assert hits and {p.source for p in hits} == {"ZeroHedge"}
    hits = r.search("Putin missiles Kyiv", k=10, filters=Filters(sources=("The Sun Times",), until=date(2024, 12, 31)))
    assert hits and {p.source for p in hits} == {"The Sun Times"}
    assert r.search("Putin missiles Kyiv", k=10, filters=Filters(sources=("Reuters",))) == []


def test_article_without_a_date_never_matches_a_date_filter(indexer: Indexer, news_dir: Path) -> None:
    undated = news_dir / "undated-note.txt"
    undated.write_text("Quokka census\nRangers on Rottnest Island counted the quokka population again.\n")
    indexer.sync([news_dir])
    for mode in ("hybrid", "dense", "bm25"):
        r = retriever(indexer, retrieval_mode=mode)
        assert any("quokka" in p.text for p in r.search("quokka population", k=3)), mode
        assert not any("quokka" in p.text for p in r.search("quokka population", k=10,
                                                               filters=Filters(until=date(2030, 1, 1)))), mode


def test_half_written_versions_are_never_visible(indexer: Indexer, news_dir: Path, settings: Settings) -> None:
    """What a sync killed mid-write leaves behind: passages of a version that was never committed."""
    indexer.sync([news_dir])
    store = indexer.store
    records = store.records()
    kyiv = next(r for r in records.values() if r.origin.endswith(KYIV))
    text = "Officials confirmed the zorbulator failure at the Kyiv power plant."
    vector = indexer.embedder.embed([text])
    meta = {"article_id": kyiv.article_id, "version": "feedfacefeedface", "chunk": 0, "start": 0, "end": len(text),
            "chunk_hash": "x", "title": kyiv.title, "published": kyiv.published, "date": 20240102, "source": "",
            "url": "", "author": "", "origin": kyiv.origin, "indexed_at": ""}
    # An update of an existing article, pending, not committed ...
    store.put_records([replace(kyiv, pending="feedfacefeedface")])
    store.put_chunks([chunk_id(kyiv.article_id, "feedfacefeedface", 0)], np.asarray(vector), [text], [meta])
    # ... and a brand-new article whose first version never got committed.
    new_id = "file:/news/never-committed.txt"
    store.put_records([ArticleRecord(new_id, "h", "t", "", "0123456789abcdef", "/news/never-committed.txt", -1, 1,
                                     "Zorbulator", "", "2024-01-02", "")])
    store.put_chunks([chunk_id(new_id, "0123456789abcdef", 0)], np.asarray(vector), [text],
                     [{**meta, "article_id": new_id, "version": "0123456789abcdef"}])
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever(indexer, retrieval_mode=mode).search("zorbulator failure", k=10)
        assert not any("zorbulator" in p.text for p in hits), mode
    # The committed version of the article is still served.
    assert any("Zaluzhny" in p.text for p in retriever(indexer).search("Zaluzhny", k=3))


def test_keyword_index_follows_new_syncs(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    r = retriever(indexer, retrieval_mode="bm25")
    assert r.search("Wombatfest", k=3) == []
    (news_dir / "wombatfest-2024-12-21.txt").write_text(
        "Wombatfest goes ahead\nThe Wombatfest parade in Canberra went ahead despite the heat.\n")
    indexer.sync([news_dir])
    hits = r.search("Wombatfest", k=3)
    assert hits and "Wombatfest" in hits[0].text
    (news_dir / "wombatfest-2024-12-21.txt").unlink()
    indexer.sync([news_dir])
    assert r.search("Wombatfest", k=3) == []


def test_large_store_rebuilds_keywords_in_background_serving_the_old_index(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    r = retriever(indexer, retrieval_mode="bm25", bm25_rebuild_inline_max=0)
    assert r.search("Wombatfest", k=3) == []  # first query builds inline: nothing to serve yet
    old = r.snapshots.get()
    (news_dir / "wombatfest-2024-12-21.txt").write_text(
        "Wombatfest goes ahead\nThe Wombatfest parade in Canberra went ahead despite the heat.\n")
    indexer.sync([news_dir])
    assert r.search("Wombatfest", k=3) == []  # served from the previous snapshot while the new one builds
    # Meanwhile the dense half of a hybrid search already sees the new passages (fetched from Chroma; without a
    # keyword score until the rebuild, so not necessarily first).
    hybrid = retriever(indexer, bm25_rebuild_inline_max=0)
    hybrid.snapshots.current = old
    assert any("Wombatfest" in p.text for p in hybrid.search("parade in Canberra despite the heat", k=10))
    assert r.snapshots.builder is not None
    r.snapshots.builder.join(timeout=60)
    assert r.snapshots.get() is not old
    assert "Wombatfest" in r.search("Wombatfest", k=3)[0].text


def test_stale_keyword_snapshot_never_serves_deleted_passages(indexer: Indexer, news_dir: Path) -> None:
    # The snapshot holds no texts: passages are read from Chroma, so one deleted since the snapshot was built is
    # skipped, and the next candidates fill the k asked for even when every first pick is gone.
    paragraphs = [f"Day {i} of Wombatfest: the Wombatfest crowd sang, and Wombatfest stalls sold pie number {i}. "
                  + "Stewards counted visitors at the gate again and again. " * 12 for i in range(12)]
    (news_dir / "wombatfest-2024-12-21.txt").write_text("Wombatfest diary\n" + "\n\n".join(paragraphs) + "\n")
    (news_dir / "harbour-2024-12-22.txt").write_text(
        "Harbour news\nA ferry was late. Someone mentioned Wombatfest in passing at the harbour.\n")
    indexer.sync([news_dir])
    r = retriever(indexer, retrieval_mode="bm25", bm25_rebuild_inline_max=0)
    before = r.search("Wombatfest", k=30)
    titles = [p.title for p in before]
    assert titles.index("Harbour news") > 1 + READ_MARGIN  # a first read of k=1 finds only diary pages
    (news_dir / "wombatfest-2024-12-21.txt").unlink()
    indexer.sync([news_dir])
    stale = r.snapshots.get()  # the rebuild runs in the background meanwhile
    assert stale.row.keys() >= {p.chunk_id for p in before}
    assert [p.title for p in r.search("Wombatfest", k=1)] == ["Harbour news"]


def test_known_sources_follow_the_store(indexer: Indexer, sourced_dir: Path) -> None:
    r = retriever(indexer)
    assert r.known_sources() == []
    indexer.sync([sourced_dir])
    assert r.known_sources() == ["The Sun Times", "ZeroHedge"]
    shutil.move(str(sourced_dir / KYIV.replace(".txt", ".md")), str(sourced_dir.parent / "elsewhere.md"))
    indexer.sync([sourced_dir])
    assert r.known_sources() == ["The Sun Times"]


def test_empty_store_and_empty_query_return_nothing(indexer: Indexer, news_dir: Path) -> None:
    r = retriever(indexer)
    assert r.search("missiles") == []
    indexer.sync([news_dir])
    assert r.search("   ") == []
    assert r.search("the of and", k=3)  # stopwords only: the keyword half is empty, the dense half still answers


def test_unknown_mode_is_refused_with_a_clear_message(indexer: Indexer) -> None:
    with pytest.raises(ValueError, match="retrieval mode"):
        retriever(indexer, retrieval_mode="magic")


def test_warm_up_builds_the_keyword_index_before_the_first_question(indexer: Indexer, news_dir: Path) -> None:
    indexer.sync([news_dir])
    r = retriever(indexer)
    r.warm_up()
    assert r.snapshots.builder is not None
    r.snapshots.builder.join(timeout=60)
    built = r.snapshots.current
    assert built is not None and built.size == indexer.store.chunks.count()
    assert "Zaluzhny" in r.search("Zaluzhny", k=1)[0].text
    assert r.snapshots.current is built  # the query used the warmed index instead of building another
