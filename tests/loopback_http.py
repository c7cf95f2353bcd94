"""A real HTTP server on 127.0.0.1 for feed and URL tests: scripted routes, ETag/Last-Modified, request counts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0
    """Seconds between 1-byte writes of the body: a server too slow to finish in time."""
    chunked: bool = False
    """Send the body without Content-Length."""


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server.lock:
                    server.requests[self.path] += 1
                    route = server.routes.get(self.path)
                if route is None:
                    self._send(404, b"not found", "text/plain")
                    return
                etag_hit = route.etag is not None and self.headers.get("If-None-Match") == route.etag
                since = self.headers.get("If-Modified-Since")
                lm_hit = route.last_modified is not None and since == route.last_modified
                if etag_hit or lm_hit:
                    with server.lock:
                        server.not_modified[self.path] += 1
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                self._send(route.status, route.body, route.content_type, headers, route.drip, route.chunked)

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                      drip: float = 0.0, chunked: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if chunked:
                        for at in range(0, len(body), 65536):
                            piece = body[at:at + 65536]
                            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    elif drip:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kwargs: object) -> Route:
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(data, **kwargs)  # type: ignore[arg-type]
        with self.lock:
            self.routes[path] = route
        return route

    def add_fixture(self, path: str, name: str, **kwargs: object) -> Route:
        """A fixture file with ``{base}`` replaced by this server's address."""
        text = (FIXTURES / name).read_text(encoding="utf-8").replace("{base}", self.base)
        return self.add(path, text, **kwargs)

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests[path]

    def pages_fetched(self) -> int:
        with self.lock:
            return sum(n for p, n in self.requests.items() if p.startswith(("/articles/", "/science/")))
