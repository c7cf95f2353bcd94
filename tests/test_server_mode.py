"""Server mode: the same indexing code against a real `chroma run` process on 127.0.0.1 (HttpClient)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings, load_settings
from index import Indexer, StoreError
from index.pipeline.status import collect_status
from index.store import Store

CHROMA = Path(sys.executable).with_name("chroma")
NEWSDESK = Path(sys.executable).with_name("newsdesk")
KYIV = "kyiv-100-missiles-2024-01-02.txt"
PUTIN = "putin-duel-kyiv-strike-2024-12-20.txt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Chroma server on a free loopback port, stopped at the end of the module."""
    assert CHROMA.exists(), f"the chroma CLI (from chromadb) is not installed next to {sys.executable}"
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (root / "server.log").open("wb")
    process = subprocess.Popen([CHROMA, "run", "--path", str(root / "data"), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def server_settings(chroma_server: int, tmp_path: Path, request: pytest.FixtureRequest,
                    monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Each test gets its own collections on the shared server."""
    for var in ("NEWSDESK_HOME", "NEWSDESK_CHROMA_HOST", "NEWSDESK_EMBED_MODEL", "NEWSDESK_COLLECTION"):
        monkeypatch.delenv(var, raising=False)
    name = "t" + "".join(c for c in request.node.name if c.isalnum())[-40:]
    return load_settings(home=tmp_path / "home", chroma_host="127.0.0.1", chroma_port=chroma_server, collection=name)


def rows(store: Store) -> dict[str, tuple[str, dict]]:
    got = store.chunks.get(include=["metadatas", "documents"])
    return {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}


def test_sync_resync_edit_and_delete_against_the_server(server_settings: Settings, embedder, news_dir: Path) -> None:
    indexer = Indexer(server_settings, embedder=embedder)
    assert indexer.store.location == f"chroma server http://127.0.0.1:{server_settings.chroma_port}"
    assert not (server_settings.home / "chroma").exists() or not any((server_settings.home / "chroma").iterdir())

    report = indexer.sync([news_dir])
    assert report.summary() == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    stored = rows(indexer.store)
    assert len(stored) == report.chunks_written == len(embedder.texts) > 2
    body = "\n".join((news_dir / KYIV).read_text().strip().splitlines()[1:]).strip()
    for text, meta in stored.values():
        if meta["origin"].endswith(KYIV):
            assert body[meta["start"]:meta["end"]] == text

    embedder.reset()
    again = indexer.sync([news_dir])
    assert again.summary() == "added 0, updated 0, unchanged 2, removed 0, failed 0"
    assert embedder.texts == [] and rows(indexer.store) == stored

    # An edit replaces exactly that article's passages, reusing stored vectors of unchanged ones ($in filter),
    # and drops the old version ($and delete).
    path = news_dir / KYIV
    path.write_text(path.read_text() + "\nOfficials said repairs to the power grid would take weeks.\n")
    embedder.reset()
    edited = indexer.sync([news_dir])
    assert edited.summary() == "added 0, updated 1, unchanged 1, removed 0, failed 0"
    assert 1 <= len(embedder.texts) <= 2
    after = rows(indexer.store)
    kyiv_old = {i for i, (_, m) in stored.items() if m["origin"].endswith(KYIV)}
    assert not kyiv_old & set(after)
    assert {i: r for i, r in after.items() if r[1]["origin"].endswith(PUTIN)} == \
        {i: r for i, r in stored.items() if r[1]["origin"].endswith(PUTIN)}

    (news_dir / PUTIN).unlink()
    removed = indexer.sync([news_dir])
    assert removed.summary() == "added 0, updated 0, unchanged 1, removed 1, failed 0"
    assert all(m["origin"].endswith(KYIV) for _, m in rows(indexer.store).values())


def test_a_second_client_sees_the_same_store(server_settings: Settings, embedder, news_dir: Path) -> None:
    indexer = Indexer(server_settings, embedder=embedder)
    other = Store(server_settings)  # its own HttpClient, opened before anything was written
    assert other.counts() == (0, 0)
    indexer.sync([news_dir])
    generation = other.generation

    assert other.counts() == indexer.store.counts()
    assert set(other.records()) == set(indexer.store.records())
    assert other.embed_model == "all-MiniLM-L6-v2-onnx-int8", "collection metadata written by the other client"
    assert generation == 1 and other.last_sync
    hits = other.chunks.query(query_embeddings=embedder.inner.embed(["Russian missiles hit Kyiv"]).tolist(),
                              n_results=3, where={"date": {"$gte": 20240101}}, include=["metadatas"])
    assert hits["ids"][0] and all(m["title"] for m in hits["metadatas"][0])

    (news_dir / KYIV).unlink()
    indexer.sync([news_dir])
    assert other.generation == generation + 1, "a change made by one client bumps the generation another sees"
    assert collect_status(server_settings, other).articles == 1

    # A writer whose client was opened long ago counts on from the stored generation, not its stale copy.
    (news_dir / "late-2024-12-30.txt").write_text("Late news\nA late story arrived from the wire on Monday.\n")
    Indexer(server_settings, store=other, embedder=embedder).sync([news_dir])
    assert indexer.store.generation == generation + 2
    assert indexer.store.counts()[0] == 2


def test_model_switch_is_refused_even_from_a_client_opened_earlier(server_settings: Settings, embedder,
                                                                     news_dir: Path) -> None:
    class Other:
        model_id, dim = "another-model", 384

        def embed(self, texts: list[str]):
            raise AssertionError("must not embed")

    late = Indexer(server_settings, embedder=Other())  # opened while the store was still empty
    Indexer(server_settings, embedder=embedder).sync([news_dir])
    with pytest.raises(StoreError, match="was indexed with embedding model 'all-MiniLM-L6-v2-onnx-int8'"):
        late.sync([news_dir])
    assert late.store.counts()[0] == 2


def test_status_command_in_another_process_shows_the_server(server_settings: Settings, embedder,
                                                            news_dir: Path) -> None:
    Indexer(server_settings, embedder=embedder).sync([news_dir])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    env.update(NEWSDESK_HOME=str(server_settings.home), NEWSDESK_CHROMA_HOST="127.0.0.1",
               NEWSDESK_CHROMA_PORT=str(server_settings.chroma_port), NEWSDESK_COLLECTION=server_settings.collection)
    done = subprocess.run([NEWSDESK, "status"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    assert lines["articles"].strip() == "2"
    assert lines["store"].strip() == f"chroma server http://127.0.0.1:{server_settings.chroma_port}"
    assert lines["embedding model"].strip() == "all-MiniLM-L6-v2-onnx-int8"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreError, match=r"cannot reach the Chroma server at 127\.0\.0\.1:\d+"):
        Store(settings)


def test_story_groups_live_on_the_server(server_settings: Settings, embedder, news_dir: Path) -> None:
    body = (news_dir / KYIV).read_text().splitlines()[1:]
    (news_dir / "wire-2024-01-01.txt").write_text("Kyiv under fire\nBy Jane Smith, The Wire\n" + "\n".join(body)
                                                  + "\nSign up for our newsletter.\n")
    indexer = Indexer(server_settings, embedder=embedder)
    indexer.sync([news_dir])
    other = Store(server_settings)  # another client: the groups are in the server, not in the writer's process
    ids = {Path(rid).name: rid for rid in other.records()}
    of = other.stories_of(list(ids.values()))
    assert of[ids[KYIV]] == of[ids["wire-2024-01-01.txt"]] != of[ids[PUTIN]]
    members = other.story_members([of[ids[KYIV]]])[of[ids[KYIV]]]
    assert [Path(m.article_id).name for m in members] == ["wire-2024-01-01.txt", KYIV]  # earliest first
    status = collect_status(server_settings, other)
    assert (status.stories, status.grouped_articles, status.grouped_stories) == (2, 2, 1)

    # An edit keeps the story (its pending mark must not clobber the label); removing the earliest relabels.
    path = news_dir / KYIV
    path.write_text(path.read_text() + "\nOfficials said repairs to the power grid would take weeks.\n")
    indexer.sync([news_dir])
    assert other.stories_of([ids[KYIV]]) == {ids[KYIV]: of[ids[KYIV]]}
    (news_dir / "wire-2024-01-01.txt").unlink()
    indexer.sync([news_dir])
    assert other.story_members(list(other.stories_of([ids[KYIV]]).values())) == \
        {other.stories_of([ids[KYIV]])[ids[KYIV]]: [other.records()[ids[KYIV]].member()]}
    assert other.fingerprint_records.count() == 2 and other.regrouping is None
