"""Guarded outbound fetching for feeds and article URLs.

A feed or a page link is text from strangers, so every fetch is fenced: http(s) only, a size cap counted on the
decoded body (gzip bombs included), one deadline for the whole fetch, redirects followed by hand so each hop is
checked again, and no connection to private, loopback, link-local or reserved addresses unless allowed
(``NEWSDESK_ALLOW_PRIVATE_URLS=1`` or ``NEWSDESK_ALLOW_NETWORKS``). The address check lives in the connection
layer: the host is resolved, every address is vetted, and the socket is opened to a vetted address, so a redirect
or a DNS answer that changes between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from index.article import Article
from index.settings import IndexSettings
from index.sources.html import extract_article
from index.sources.loaders import article_id, normalize_date

USER_AGENT = "newsdesk/0.1 (news article indexer; +https://github.com/newsdesk)"
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A fetch that did not produce a usable body; ``str(exc)`` is the one-line reason."""

    def __init__(self, reason: str, *, retryable: bool = True, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        """False when trying again cannot help (refused address, not http, too large, wrong content type)."""
        self.status = status
        self.retry_after = retry_after


class Refused(FetchError):
    """The guard said no before any connection was made."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=False)


def is_url(text: str) -> bool:
    """True for an http(s) URL with a host: what ``newsdesk index`` and ``watch`` treat as remote."""
    parts = urlsplit(text.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
"""``scheme://``, two letters or more so a Windows drive (``C:/``) never matches."""


def url_refusal(text: str) -> str | None:
    """Why ``text``, written as a URL, is not indexed (``file://``, ``gopher://``, no host); None otherwise."""
    match = _SCHEME.match(text.strip())
    if match is None or is_url(text):
        return None
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        return "URL without a host"
    return f"only http(s) URLs are indexed, not {scheme}: URLs"


# -- the address guard ---------------------------------------------------------------------------------------------


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052's well-known NAT64 prefix: a translator sends ``64:ff9b::a.b.c.d`` on to the IPv4 address a.b.c.d."""
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
"""RFC 8215's local-use NAT64 prefix: not globally reachable, though Python 3.11's ``is_global`` says it is."""
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""Deprecated IPv4-compatible ``::a.b.c.d``; ``::`` and ``::1`` in it are IPv6's own unspecified and loopback."""


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address delivers to: IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``,
    6to4 ``2002:AABB:CCDD::`` or IPv4-compatible ``::a.b.c.d``; None for any other address.

    Python's ``is_private``/``is_loopback`` judge these as IPv6 (3.11: ``64:ff9b::7f00:1``, ``2002:7f00:1::`` and
    ``::127.0.0.1`` are all "global"), which would let a URL reach 127.0.0.1 or 10.0.0.0/8 through a translator.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


class AddressPolicy:
    """Which addresses may be connected to: public ones, plus what the settings allow."""

    def __init__(self, settings: IndexSettings) -> None:
        self.allow_all = settings.allow_private_urls
        self.allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in settings.allow_networks.split(","):
            if item.strip():
                try:
                    self.allowed.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError:
                    raise ValueError(f"NEWSDESK_ALLOW_NETWORKS: {item.strip()!r} is not a network "
                                     f"(use CIDR such as 10.1.2.3/32)") from None

    def refusal(self, ip: IPAddress, host: str | None = None) -> str | None:
        """Why this address may not be fetched, or None when it may.

        An IPv6 address that carries an IPv4 one is judged by the IPv4 address its packets end up at.
        """
        named = host or str(ip)
        ip = embedded_ipv4(ip) or ip
        if self.allow_all or any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        if ip.is_loopback:
            kind = "a loopback"
        elif ip.is_link_local:
            kind = "a link-local"
        elif ip.is_multicast:
            kind = "a multicast"
        elif ip.is_private or ip in _LOCAL_NAT64:
            kind = "a private"
        elif ip.is_global:
            return None
        else:
            kind = "a reserved (non-public)"
        shown = str(ip) if named == str(ip) else f"{named} ({ip})"
        return (f"refused: {shown} is {kind} address (set NEWSDESK_ALLOW_PRIVATE_URLS=1 or NEWSDESK_ALLOW_NETWORKS "
                f"to allow it)")

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address of ``host``, each vetted; raises ``Refused`` if any is off limits."""
        host = host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r} ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchError(f"cannot resolve host {host!r} (no addresses)")
        for address in addresses:
            reason = self.refusal(ipaddress.ip_address(address.split("%", 1)[0]), host)
            if reason:
                raise Refused(reason)
        return addresses


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket layer with the address check in front of every connect."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise Refused("refused: unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        # httpx exposes no hook for the network backend; the pool is rebuilt with the guarded one.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=10,
                                             network_backend=_GuardedBackend(policy))


# -- fetching ------------------------------------------------------------------------------------------------------


@dataclass
class Response:
    url: str
    """Final URL, after redirects."""
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """The body decoded by its declared charset, else a ``<meta charset>``, else UTF-8 (bad bytes replaced)."""
        charset = _charset(self.headers.get("content-type", ""))
        if not charset:
            match = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", self.content[:4096], re.I)
            charset = match.group(1).decode("ascii") if match else None
        for candidate in (charset, "utf-8"):
            if candidate:
                try:
                    return self.content.decode(candidate, errors="replace")
                except LookupError:
                    continue
        return self.content.decode("utf-8", errors="replace")


class Fetcher:
    """One guarded HTTP client; reuse it across fetches (connection pooling), close it when done."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self.policy = AddressPolicy(settings)
        self.max_bytes = int(settings.fetch_max_mb * 1024 * 1024)
        self.client = httpx.Client(
            transport=_GuardedTransport(self.policy), follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(settings.fetch_timeout), headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """GET with the guard, redirects checked hop by hop; 304 is returned, other non-2xx raise ``FetchError``."""
        deadline = time.monotonic() + self.settings.fetch_timeout
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            try:
                with self.client.stream("GET", url, headers=dict(headers or {})) as r:
                    if r.status_code in (301, 302, 303, 307, 308) and r.headers.get("location"):
                        url = urljoin(str(r.url), r.headers["location"])
                        continue
                    if r.status_code == 304:
                        return Response(str(r.url), 304, dict(r.headers))
                    if r.status_code >= 300:
                        raise _http_error(r)
                    declared = r.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise self._too_large()
                    body = bytearray()
                    for piece in r.iter_bytes():
                        body += piece
                        if len(body) > self.max_bytes:
                            raise self._too_large()
                        if time.monotonic() > deadline:
                            raise FetchError(f"timed out after {self.settings.fetch_timeout:g} s (body too slow)")
                    return Response(str(r.url), r.status_code, dict(r.headers), bytes(body))
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {self.settings.fetch_timeout:g} s") from None
            except httpx.InvalidURL as exc:
                raise FetchError(f"invalid URL ({exc})", retryable=False) from None
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch ({type(exc).__name__}: {exc or 'connection failed'})") from None
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})", retryable=False)

    def _too_large(self) -> FetchError:
        return FetchError(f"too large (more than {self.settings.fetch_max_mb:g} MB; NEWSDESK_FETCH_MAX_MB)",
                          retryable=False)


def fetch_article(url: str, settings: IndexSettings, fetcher: Fetcher | None = None) -> Article:
    """One article page as an ``Article`` (id from its URL); raises ``FetchError`` with the reason."""
    if not is_url(url):
        raise Refused(f"refused: not an http(s) URL: {url}")
    own = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        response = fetcher.get(url)
    finally:
        if own:
            fetcher.close()
    kind = response.content_type
    if kind in FEED_TYPES or (kind.endswith(("+xml", "/xml")) and kind not in HTML_TYPES):
        raise FetchError(f"this is an RSS/Atom feed or XML ({kind}), not an article page: "
                         f"use 'newsdesk watch {url}'", retryable=False)
    if kind and kind not in HTML_TYPES and not kind.startswith("text/"):
        raise FetchError(f"not an article page (content type {kind})", retryable=False)
    extracted = extract_article(response.text(), url=response.url)
    if extracted is None:
        raise FetchError("no article text found on the page (navigation or boilerplate only)", retryable=False)
    text = extracted.text
    if len(text) > settings.max_article_chars:
        raise FetchError(f"article too long ({len(text):,} characters > {settings.max_article_chars:,} limit)",
                         retryable=False)
    clean = url.strip()
    return Article(
        article_id=article_id(None, clean, clean, None, text),
        title=extracted.title or (urlsplit(clean).path.rstrip("/").rsplit("/", 1)[-1] or clean),
        text=text,
        published=normalize_date(extracted.published),
        source=extracted.source or urlsplit(clean).hostname or "",
        url=clean,
        author=extracted.author,
        origin=clean,
    )


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise Refused(f"refused: only http(s) URLs are fetched, not {parts.scheme or 'a relative URL'}: {url}")
    if not parts.hostname:
        raise Refused(f"refused: URL without a host: {url}")


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=[\"']?([\w-]+)", content_type, re.I)
    return match.group(1) if match else None


def _http_error(r: httpx.Response) -> FetchError:
    retry_after = r.headers.get("retry-after", "")
    return FetchError(
        f"HTTP {r.status_code} {r.reason_phrase}".strip(),
        retryable=r.status_code >= 400,
        status=r.status_code,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )
