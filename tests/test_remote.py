"""Guarded fetching: the private-address guard (without sending traffic anywhere but loopback), limits, URLs."""

from __future__ import annotations

import gzip
import ipaddress
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from loopback_http import LoopbackServer

from assistant import Assistant
from assistant.cli import main
from assistant.settings import Settings, load_settings
from index import Indexer
from index.sources.remote import AddressPolicy, Fetcher, FetchError, Refused, fetch_article, is_url

HARBOUR = "/articles/harbour-reopens.html"


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        srv.add_fixture(HARBOUR, "articles/harbour-reopens.html")
        yield srv


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every address a socket connects to in this test (the real connect still runs)."""
    seen: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        seen.append(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        seen.append(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


def loopback(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(update={"allow_private_urls": True, **more})


@pytest.mark.parametrize(("url", "kind"), [
    ("http://10.0.0.1/feed.xml", "private"),
    ("http://10.200.3.4:8080/a.html", "private"),
    ("https://192.168.1.20/rss", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://167772161/decimal-spelling-of-10.0.0.1", "private"),
    ("http://[::ffff:192.168.0.1]/mapped", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://127.0.0.1:9/", "loopback"),
    ("http://localhost:9/", "loopback"),
    ("http://0x7f000001:9/hex-spelling-of-loopback", "loopback"),
    ("http://100.64.0.1/carrier-grade-nat", "reserved"),
])
def test_guard_refuses_non_public_targets_before_any_connection(settings: Settings, connects: list[object],
                                                                url: str, kind: str) -> None:
    assert not settings.allow_private_urls
    with Fetcher(settings) as fetcher, pytest.raises(Refused) as refused:
        fetcher.get(url)
    assert f"is a {kind}" in str(refused.value) and "NEWSDESK_ALLOW_PRIVATE_URLS" in str(refused.value)
    assert connects == []  # resolved and refused: no packet left for the target
    with pytest.raises(Refused):
        fetch_article(url, settings)
    assert connects == []


def test_guard_refuses_our_own_loopback_server_by_default(settings: Settings, server: LoopbackServer,
                                                         connects: list[object]) -> None:
    with pytest.raises(Refused, match="loopback"):
        fetch_article(server.url(HARBOUR), settings)
    assert server.count(HARBOUR) == 0 and connects == []


def test_redirect_to_a_private_address_is_refused_before_connecting(settings: Settings, server: LoopbackServer,
                                                                    connects: list[object]) -> None:
    only_loopback = settings.model_copy(update={"allow_networks": "127.0.0.0/8"})
    server.add("/go", status=302, headers={"Location": "http://10.0.0.1/internal/admin"})
    server.add("/go-meta", status=301, headers={"Location": "http://169.254.169.254/latest/"})
    server.add("/go-file", status=302, headers={"Location": "file:///etc/passwd"})
    with Fetcher(only_loopback) as fetcher:
        with pytest.raises(Refused, match="10.0.0.1 is a private"):
            fetcher.get(server.url("/go"))
        with pytest.raises(Refused, match="169.254.169.254 is a link-local"):
            fetcher.get(server.url("/go-meta"))
        with pytest.raises(Refused, match="only http"):
            fetcher.get(server.url("/go-file"))
        assert fetcher.get(server.url(HARBOUR)).status == 200  # the allowed network itself works
    hosts = {address[0] for address in connects}  # type: ignore[index]
    assert hosts == {"127.0.0.1"}
    assert server.count("/go") == server.count("/go-meta") == server.count("/go-file") == 1


def test_only_http_urls_are_fetched(settings: Settings, connects: list[object]) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/a.txt", "gopher://x/", "javascript:alert(1)", "/etc/hosts"):
        assert not is_url(url)
        with pytest.raises(Refused):
            fetch_article(url, settings)
    assert is_url("https://example.org/2024/12/20/kyiv.html") and is_url("HTTP://example.org")
    assert connects == []


def test_fetch_article_extracts_main_text_and_metadata(settings: Settings, server: LoopbackServer) -> None:
    url = server.url(HARBOUR)
    article = fetch_article(url, loopback(settings))
    assert article.article_id == f"url:{url}"
    assert article.title == "Valparaiso harbour reopens after three-day storm closure"
    assert article.published == "2024-12-18"
    assert "forty-two vessels waiting at anchor" in article.text
    assert "Privacy" not in article.text and "Business" not in article.text  # navigation and footer dropped
    assert article.url == url and article.origin == url


def test_size_limit_applies_to_declared_streamed_and_decompressed_bodies(settings: Settings,
                                                                         server: LoopbackServer) -> None:
    small = loopback(settings, fetch_max_mb=0.05)
    big = b"<p>" + b"word " * 40_000 + b"</p>"
    server.add("/declared", big)
    server.add("/chunked", big, chunked=True)
    server.add("/bomb", gzip.compress(b"\0" * 5_000_000), headers={"Content-Encoding": "gzip"})
    assert len(gzip.compress(b"\0" * 5_000_000)) < 50_000
    with Fetcher(small) as fetcher:
        for path in ("/declared", "/chunked", "/bomb"):
            with pytest.raises(FetchError, match="too large") as err:
                fetcher.get(server.url(path))
            assert not err.value.retryable


def test_time_limit_covers_a_server_that_drips(settings: Settings, server: LoopbackServer) -> None:
    server.add("/slow", b"x" * 200, drip=0.05)  # 10 s to send in full
    started = time.monotonic()
    with Fetcher(loopback(settings, fetch_timeout=0.6)) as fetcher, pytest.raises(FetchError, match="timed out"):
        fetcher.get(server.url("/slow"))
    assert time.monotonic() - started < 3


def test_http_errors_and_wrong_content_have_reasons(settings: Settings, server: LoopbackServer) -> None:
    allowed = loopback(settings)
    server.add("/gone", status=404)
    server.add("/report.pdf", b"%PDF-1.7", content_type="application/pdf")
    server.add_fixture("/world.rss", "world.rss", content_type="application/rss+xml")
    server.add("/nav", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(FetchError, match="HTTP 404") as err:
        fetch_article(server.url("/gone"), allowed)
    assert err.value.retryable and err.value.status == 404
    with pytest.raises(FetchError, match="content type application/pdf"):
        fetch_article(server.url("/report.pdf"), allowed)
    with pytest.raises(FetchError, match="newsdesk watch"):
        fetch_article(server.url("/world.rss"), allowed)
    with pytest.raises(FetchError, match="no article text"):
        fetch_article(server.url("/nav"), allowed)


def test_cli_index_url_indexes_the_page_and_reports_failures(settings: Settings, server: LoopbackServer,
                                                             monkeypatch: pytest.MonkeyPatch, minilm,
                                                             capsys: pytest.CaptureFixture[str],
                                                             news_dir: Path) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_URLS", "1")
    server.add("/missing.html", status=404)
    sample = next(news_dir.glob("kyiv-*.txt"))
    code = main(["--home", str(settings.home), "index", "--quiet", server.url(HARBOUR), str(sample),
                 server.url("/missing.html")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0] == "added 2, updated 0, unchanged 0, removed 0, failed 1"
    assert f"failed  {server.url('/missing.html')}: HTTP 404 Not Found" in out

    home = load_settings(home=settings.home)
    passages = Assistant(home, embedder=minilm).search("How many ships waited at anchor off Valparaiso?", k=3)
    assert passages[0].url == server.url(HARBOUR)
    assert "forty-two vessels" in " ".join(p.text for p in passages)

    assert main(["--home", str(settings.home), "index", "--quiet", server.url(HARBOUR)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "added 0, updated 0, unchanged 1, removed 0, failed 0"
    assert Indexer(home, embedder=minilm).store.counts()[0] == 2


def test_cli_index_url_refuses_private_addresses_by_default(settings: Settings, server: LoopbackServer,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_URLS", raising=False)
    code = main(["--home", str(settings.home), "index", "--quiet", server.url(HARBOUR)])
    out = capsys.readouterr().out
    assert code == 1 and "refused: 127.0.0.1 is a loopback address" in out
    assert server.count(HARBOUR) == 0


@pytest.mark.parametrize(("address", "kind"), [
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254 (cloud metadata)
    ("64:ff9b:1::808:808", "private"),  # RFC 8215 local-use NAT64: never public
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:1::1", "private"),  # 6to4 of 192.168.0.1
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("::10.1.2.3", "private"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped (handled before)
    ("::1", "loopback"),  # IPv6's own, not "IPv4-compatible 0.0.0.1"
    ("64:ff9b::808:808", None),  # public IPv4 behind each form: allowed
    ("2002:808:808::1", None),
    ("::8.8.8.8", None),
])
def test_ipv6_addresses_carrying_an_ipv4_address_are_judged_by_it(settings: Settings, address: str,
                                                                 kind: str | None) -> None:
    """Before: Python judges these as IPv6 (3.11 calls ``64:ff9b::7f00:1`` global), so they passed the guard."""
    refusal = AddressPolicy(settings).refusal(ipaddress.ip_address(address))
    if kind is None:
        assert refusal is None
    else:
        assert refusal is not None and f"is a {kind} address" in refusal


@pytest.fixture
def no_connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every address a socket tries to connect to, with the connect never made: should the guard ever let one
    through, the test fails without a packet leaving for a translated address."""
    seen: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        seen.append(address)
        raise ConnectionRefusedError(f"test: no connection to {address!r}")

    def connect_ex(self: socket.socket, address: object) -> int:
        seen.append(address)
        return 111  # ECONNREFUSED

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


@pytest.mark.parametrize(("url", "shown"), [
    ("http://[64:ff9b::7f00:1]:9/", "64:ff9b::7f00:1 (127.0.0.1) is a loopback"),
    ("http://[2002:7f00:1::]:9/", "2002:7f00:1:: (127.0.0.1) is a loopback"),
    ("http://[::127.0.0.1]:9/", "::127.0.0.1 (127.0.0.1) is a loopback"),
    ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 (10.0.0.1) is a private"),
])
def test_embedded_ipv4_literals_are_refused_before_any_connection(settings: Settings, no_connects: list[object],
                                                                  url: str, shown: str) -> None:
    with Fetcher(settings) as fetcher, pytest.raises(Refused, match=re.escape(f"refused: {shown} address")):
        fetcher.get(url)
    with pytest.raises(Refused):
        fetch_article(url, settings)
    assert no_connects == []


def test_a_name_resolving_to_a_nat64_address_is_refused_before_connecting(
        settings: Settings, no_connects: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS (here a stand-in resolver; nothing is looked up) answers with the NAT64 form of the metadata address."""
    def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[Any, ...]]:
        if host != "news.example.test":
            raise socket.gaierror(socket.EAI_NONAME, f"test: only news.example.test resolves, not {host}")
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", 80, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(Refused, match=re.escape("news.example.test (169.254.169.254) is a link-local address")):
        fetch_article("http://news.example.test/2024/harbour.html", settings)
    assert no_connects == []
