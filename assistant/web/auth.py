"""One password for the whole web app: every page, Gradio's API and ``/v1/chat/completions``.

Why a middleware around everything rather than Gradio's own login: Gradio's login protects Gradio's routes with a
cookie, but not the routes we mount beside it, and a route added by a later Gradio version would be open until
someone noticed. HTTP Basic in front of the whole ASGI app covers every path, browsers ask for it natively,
``gradio_client`` sends it as a header, and OpenAI clients send the same ``user:password`` as their API key
(``Authorization: Bearer user:password``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]


class AuthConfigError(ValueError):
    pass


def parse_credentials(value: str) -> tuple[str, str]:
    """``user:password`` from ``NEWSDESK_AUTH``; a malformed value is a start-up error, never an open server."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise AuthConfigError("NEWSDESK_AUTH must look like user:password (both non-empty)")
    return user, password


class BasicAuth:
    """Pure ASGI middleware (streams and websockets pass through untouched once authorised)."""

    def __init__(self, app: Any, credentials: tuple[str, str], realm: str = "newsdesk") -> None:
        self.app = app
        self._expected = f"{credentials[0]}:{credentials[1]}".encode()
        self.realm = realm

    def authorised(self, scope: Scope) -> bool:
        header = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(token, validate=True)
            except (binascii.Error, ValueError):
                return False
        elif scheme.lower() == "bearer":
            given = token.encode("utf-8", "replace")
        else:
            return False
        return hmac.compare_digest(given, self._expected)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or self.authorised(scope):
            await self.app(scope, receive, send)
            return
        log.info("refused unauthenticated %s %s", scope["type"], scope.get("path"))
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": {"message": "authentication required (NEWSDESK_AUTH user:password)",
                                     "type": "authentication_error", "code": "unauthorized"}}).encode()
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"www-authenticate", f'Basic realm="{self.realm}", charset="UTF-8"'.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
