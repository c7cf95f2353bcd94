"""Refuse requests whose ``Host`` header names a host this server was not asked to serve (DNS rebinding).

A web page on any site can make the visitor's browser send requests to a name that its DNS first points at the
site and then at 127.0.0.1; the browser then treats a loopback newsdesk as same-origin with the attacker's page. Such
a request still carries the attacker's name in ``Host``, so answering only the names we serve closes the hole:
loopback names, IP literals (rebinding needs a name), the host given to ``serve --host``, and
``NEWSDESK_ALLOWED_HOSTS`` (``name``, ``.suffix`` for a domain and its subdomains, or ``*`` for any).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def host_name(header: str) -> str:
    """``Host`` without its port, lower-case, brackets kept off IPv6 literals."""
    value = header.strip().lower().rstrip(".")
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_names(served_host: str, extra: str) -> frozenset[str]:
    names = set(LOOPBACK_NAMES)
    if served_host.strip("[]").lower() not in WILDCARD_BINDS:
        names.add(host_name(served_host))
    names.update(n.strip().lower().rstrip(".") for n in extra.split(",") if n.strip())
    return frozenset(names)


def is_allowed(name: str, allowed: frozenset[str]) -> bool:
    if "*" in allowed or name in allowed or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return any(a.startswith(".") and (name.endswith(a) or name == a[1:]) for a in allowed)


class HostCheck:
    """Pure ASGI middleware in front of everything (pages, Gradio's API, ``/v1``), before authentication."""

    def __init__(self, app: Any, served_host: str, extra: str = "") -> None:
        self.app = app
        self.allowed = allowed_names(served_host, extra)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
        name = host_name(header)
        if name and is_allowed(name, self.allowed):
            await self.app(scope, receive, send)
            return
        log.warning("refused a request for host %r (not served; see NEWSDESK_ALLOWED_HOSTS)", header)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": {
            "message": f"this server does not answer for host {header!r}; add it to NEWSDESK_ALLOWED_HOSTS",
            "type": "invalid_request_error", "code": "host_not_allowed"}}).encode()
        await send({"type": "http.response.start", "status": 421, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
