"""RSS/Atom feeds served by a real HTTP server on 127.0.0.1: full text, conditional polls, dedupe, failures."""

from __future__ import annotations

import queue
import socket
import time
from pathlib import Path

import pytest
from loopback_http import FIXTURES, LoopbackServer

from assistant import Assistant
from assistant.settings import Settings
from index import Indexer
from index.pipeline.status import collect_status
from index.sources.feeds import parse_feed
from index.sources.poller import FeedPoller
from index.sources.remote import Fetcher
from index.sources.state import SourcesState
from index.sources.watch import SyncEvent, Watcher

WORLD = "/feeds/world.rss"
SCIENCE = "/feeds/science.atom"
PAGES = ["harbour-reopens", "wind-farm", "rail-strike", "library-fire"]
INTERVAL = 0.2


@pytest.fixture
def feed_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_urls": True, "feed_interval": INTERVAL,
                                       "feed_max_backoff": 5.0, "fetch_timeout": 5.0})


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        srv.add_fixture(WORLD, "world.rss", content_type="application/rss+xml; charset=utf-8", etag='"world-1"')
        srv.add_fixture(SCIENCE, "science.atom", content_type="application/atom+xml",
                        last_modified="Fri, 20 Dec 2024 10:00:00 GMT")
        for page in PAGES:
            srv.add_fixture(f"/articles/{page}.html", f"articles/{page}.html")
        yield srv


@pytest.fixture
def feed_indexer(feed_settings: Settings, embedder) -> Indexer:
    return Indexer(feed_settings, embedder=embedder)


@pytest.fixture
def poller(feed_indexer: Indexer):
    with Fetcher(feed_indexer.settings) as fetcher:
        yield FeedPoller(feed_indexer, fetcher)


def article_text(indexer: Indexer, article_id: str) -> str:
    got = indexer.store.chunks.get(where={"article_id": article_id}, include=["documents", "metadatas"])
    records = indexer.store.records_for([article_id])
    version = records[article_id].version if article_id in records else None
    parts = sorted((m["chunk"], d) for d, m in zip(got["documents"], got["metadatas"]) if m["version"] == version)
    return " ".join(d for _, d in parts)


def page_counts(server: LoopbackServer) -> dict[str, int]:
    return {p: server.count(f"/articles/{p}.html") for p in PAGES}


def test_summary_only_rss_entries_are_indexed_with_the_full_text_of_their_pages(
        poller: FeedPoller, feed_indexer: Indexer, server: LoopbackServer, minilm) -> None:
    url = server.url(WORLD)
    result = poller.poll(url)
    assert result.error is None and not result.report.failures
    assert (result.report.added, result.page_fetches) == (3, 3)
    assert page_counts(server) == {"harbour-reopens": 1, "wind-farm": 1, "rail-strike": 1, "library-fire": 0}

    harbour = feed_indexer.store.records()[f"url:{server.url('/articles/harbour-reopens.html')}"]
    assert harbour.source == "Coastal Herald — World" and harbour.published == "2024-12-18"
    assert harbour.title == "Valparaiso harbour reopens after three-day storm closure" and harbour.origin == url
    text = article_text(feed_indexer, harbour.article_id)
    assert "forty-two vessels waiting at anchor" in text and "900 containers" in text  # page text, not the summary
    assert "Read more" not in text and "Privacy" not in text

    passages = Assistant(feed_indexer.settings, store=feed_indexer.store, embedder=minilm).search(
        "rotor span of the Dogger Bank turbines", k=3)
    assert passages[0].url == server.url("/articles/wind-farm.html")
    assert "220 metres" in " ".join(p.text for p in passages if p.url == passages[0].url)


def test_unchanged_feed_costs_one_304_and_no_page_fetch_then_a_new_entry_arrives(
        poller: FeedPoller, feed_indexer: Indexer, server: LoopbackServer, embedder) -> None:
    url = server.url(WORLD)
    poller.poll(url)
    before = page_counts(server)
    embedder.reset()

    second = poller.poll(url)
    assert second.not_modified and second.line() == "not modified"
    assert server.not_modified[WORLD] == 1 and server.count(WORLD) == 2
    assert page_counts(server) == before and second.page_fetches == 0 and embedder.texts == []

    server.add_fixture(WORLD, "world-updated.rss", content_type="application/rss+xml", etag='"world-2"')
    third = poller.poll(url)
    assert (third.report.added, third.report.unchanged, third.page_fetches) == (1, 3, 1)
    assert page_counts(server) == {**before, "library-fire": 1}  # only the new entry's page was fetched
    fire = article_text(feed_indexer, f"url:{server.url('/articles/library-fire.html')}")
    assert "parchment charters from the fourteenth century" in fire
    assert feed_indexer.store.counts()[0] == 4


def test_atom_entries_with_full_content_need_no_page_and_last_modified_is_honoured(
        poller: FeedPoller, feed_indexer: Indexer, server: LoopbackServer) -> None:
    url = server.url(SCIENCE)
    result = poller.poll(url)
    assert result.report.added == 3 and result.page_fetches == 1  # only the summary-only entry
    assert server.count("/science/glacier-survey.html") == server.count("/science/malaria-trial.html") == 0
    glacier = article_text(feed_indexer, f"url:{server.url('/science/glacier-survey.html')}")
    assert "retreated by 1.2 kilometres between 2014 and 2024" in glacier
    record = feed_indexer.store.records()[f"url:{server.url('/science/glacier-survey.html')}"]
    assert record.published == "2024-12-17" and record.source == "Coastal Herald — Science"

    again = poller.poll(url)
    assert again.not_modified and server.not_modified[SCIENCE] == 1 and again.page_fetches == 0


def test_the_same_story_from_two_feeds_is_stored_once(poller: FeedPoller, feed_indexer: Indexer,
                                                      server: LoopbackServer) -> None:
    poller.poll(server.url(WORLD))
    science = poller.poll(server.url(SCIENCE))
    assert science.report.added == 2 and science.report.duplicates == 1  # same link as a World entry
    assert server.count("/articles/harbour-reopens.html") == 1  # not even fetched again
    assert feed_indexer.store.counts()[0] == 5

    # the same page under another address (a mirror, a tracking link): same text, stored once
    server.add_fixture("/mirror/harbour.html", "articles/harbour-reopens.html")
    mirror = (FIXTURES / "world.rss").read_text().replace(
        "{base}/articles/harbour-reopens.html", "{base}/mirror/harbour.html").replace("{base}", server.base)
    server.add("/feeds/mirror.rss", mirror, content_type="application/rss+xml")
    result = poller.poll(server.url("/feeds/mirror.rss"))
    assert server.count("/mirror/harbour.html") == 1
    assert result.report.added == 0 and result.report.duplicates == 3
    assert feed_indexer.store.counts()[0] == 5


def test_feed_failures_are_reported_retried_with_backoff_and_lose_nothing(
        poller: FeedPoller, feed_indexer: Indexer, server: LoopbackServer, feed_settings: Settings,
        minilm) -> None:
    url = server.url(WORLD)
    poller.poll(url)
    indexed = feed_indexer.store.counts()
    state = SourcesState(feed_settings)

    server.add_fixture(WORLD, "malformed.rss", content_type="application/rss+xml")
    first = poller.poll(url)
    assert first.error and first.error.startswith("malformed feed XML")
    waits = [poller.next_due(url) - time.time()]
    second = poller.poll(url)
    waits.append(poller.next_due(url) - time.time())
    assert second.error == first.error and state.get(url)["failures"] == 2
    assert INTERVAL * 1.5 < waits[0] <= INTERVAL * 2 and INTERVAL * 3 < waits[1] <= INTERVAL * 4  # doubling
    assert feed_indexer.store.counts() == indexed  # nothing lost
    assert Assistant(feed_settings, store=feed_indexer.store, embedder=minilm).search("Valparaiso harbour", k=1)

    status = {w["source"]: w for w in collect_status(feed_settings, feed_indexer.store).watched}
    assert status[url]["error"].startswith("malformed feed XML") and status[url]["articles"] == 3
    assert "last error: malformed feed XML" in collect_status(feed_settings, feed_indexer.store).render()

    server.add_fixture(WORLD, "world.rss", content_type="application/rss+xml", etag='"world-1"')
    recovered = poller.poll(url)
    assert recovered.error is None and state.get(url)["failures"] == 0 and state.get(url)["error"] is None
    assert recovered.page_fetches == 0  # fingerprints survived the failures: nothing re-fetched

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/feed.xml"
    unreachable = poller.poll(dead)
    assert unreachable.error and "cannot fetch" in unreachable.error
    assert "failed: cannot fetch" in unreachable.line() and "retrying in" in unreachable.line()
    assert feed_indexer.store.counts() == indexed


def test_a_404_article_keeps_its_summary_and_is_retried_until_the_page_exists(
        feed_indexer: Indexer, server: LoopbackServer) -> None:
    interval = 0.5
    feed_indexer.settings = feed_indexer.settings.model_copy(update={"feed_interval": interval})
    poller = FeedPoller(feed_indexer)
    feed = (FIXTURES / "world-updated.rss").read_text().replace("{base}", server.base)
    server.add("/feeds/flaky.rss", feed, content_type="application/rss+xml", etag='"flaky-1"')
    server.add("/articles/library-fire.html", status=404)
    url = server.url("/feeds/flaky.rss")
    fire_id = f"url:{server.url('/articles/library-fire.html')}"

    first = poller.poll(url)
    assert first.report.added == 4 and len(first.report.failures) == 1
    reason = first.report.failures[0].reason
    assert "HTTP 404 Not Found" in reason and "retrying in" in reason and "summary" in reason
    assert article_text(feed_indexer, fire_id) == "Rare charters survived behind the vault's fire doors."

    early = poller.poll(url)  # before the retry is due: neither the page nor the feed body is fetched again
    assert early.not_modified and server.count("/articles/library-fire.html") == 1

    server.add_fixture("/articles/library-fire.html", "articles/library-fire.html")
    time.sleep(interval * 2 + 0.1)
    later = poller.poll(url)
    assert later.not_modified and later.report.updated == 1 and not later.report.failures
    assert server.count("/articles/library-fire.html") == 2
    assert "parchment charters" in article_text(feed_indexer, fire_id)
    assert SourcesState(feed_indexer.settings).get(url)["retry"] == {}
    poller.fetcher.close()


@pytest.mark.parametrize("bomb", ["billion-laughs", "quadratic"])
def test_xml_entity_bombs_are_refused_before_parsing(poller: FeedPoller, feed_indexer: Indexer,
                                                     server: LoopbackServer, bomb: str) -> None:
    if bomb == "billion-laughs":
        server.add_fixture("/feeds/bomb.rss", "billion-laughs.rss", content_type="application/rss+xml")
    else:  # one 20 kB entity referenced 5,000 times: 100 MB once expanded (feedparser alone would expand it)
        body = ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY big "' + "a" * 20_000 + '">]>\n'
                '<rss version="2.0"><channel><title>Quadratic</title><item><title>x</title><link>'
                + server.url("/articles/wind-farm.html") + "</link><description>" + "&big;" * 5_000
                + "</description></item></channel></rss>")
        server.add("/feeds/bomb.rss", body, content_type="application/rss+xml")
    started = time.monotonic()
    result = poller.poll(server.url("/feeds/bomb.rss"))
    assert time.monotonic() - started < 2
    assert result.error == "refused: the feed declares XML entities (an entity-expansion bomb is possible)"
    assert feed_indexer.store.counts() == (0, 0) and server.pages_fetched() == 0


def test_parse_feed_never_treats_the_body_as_a_path_or_url(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text((FIXTURES / "world.rss").read_text().replace("{base}", "http://example.org"))
    with pytest.raises(Exception, match="not an RSS or Atom feed|malformed"):
        parse_feed(str(secret).encode(), "http://example.org/feed")  # feedparser would open this file


def test_watcher_polls_feeds_in_the_background_and_status_shows_them(
        feed_settings: Settings, feed_indexer: Indexer, server: LoopbackServer) -> None:
    events: queue.Queue[SyncEvent] = queue.Queue()
    url = server.url(WORLD)
    watcher = Watcher(feed_settings, feed_indexer, feeds=[url], on_sync=events.put)
    with watcher:
        first = events.get(timeout=30)
        assert first.kind == "feed" and first.report is not None and first.report.added == 3
        assert first.line().endswith(f"feed {url}: added 3, updated 0, unchanged 0, removed 0, failed 0")
        server.add_fixture(WORLD, "world-updated.rss", content_type="application/rss+xml", etag='"world-2"')
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event = events.get(timeout=30)
            if event.report and event.report.added:
                break
        assert event.report is not None and event.report.added == 1
        polls = server.count(WORLD)
        time.sleep(1.0)
        assert server.count(WORLD) - polls <= 1.0 / INTERVAL + 1  # polled on the interval, not in a loop
    watched = collect_status(feed_settings, feed_indexer.store).watched
    assert [(w["source"], w["kind"], w["articles"], w["error"]) for w in watched] == [(url, "feed", 4, None)]
    assert watched[0]["last_sync"]
