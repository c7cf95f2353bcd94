"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests that use the real openai SDK.

It speaks the wire protocol (JSON completions and server-sent-event streams ending in ``data: [DONE]``), records
every request, and plays back scripted replies, including faults: HTTP errors with ``retry-after``, a server that
answers too late, a stream that breaks or carries malformed JSON.

    with ScriptedOpenAI() as server:
        server.script(Reply.error(500), Reply("Kyiv was hit by about 100 missiles [1]."))
        settings = load_settings(home=..., openai_base_url=server.base_url, llm_model="test-model")
        ...
        assert server.requests[-1].body["messages"][1]["content"].startswith("Today is")

Replies are taken from the script in order; when it is empty, ``default`` answers (a ``Reply`` or a function of
the request returning one).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    """The assistant message content."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    """Error message for a non-200 status (OpenAI's ``{"error": {...}}`` body)."""
    delay: float = 0.0
    """Seconds to wait before sending anything (longer than the client's timeout = a timeout)."""
    pieces: list[str] | None = None
    """Stream pieces; default: the text cut into pieces of a few characters."""
    malformed_after: int | None = None
    """Stream: after this many pieces, send a line that is not JSON."""
    cut_after: int | None = None
    """Stream: after this many pieces, close the connection without ``[DONE]``."""
    stall_after: int | None = None
    """Stream: after this many pieces, go silent for ``stall`` seconds."""
    stall: float = 0.0
    interval: float = 0.002
    """Stream: seconds between pieces (a slow model: many pieces, a long interval)."""

    @classmethod
    def failure(cls, status: int, message: str = "scripted failure", retry_after: float | None = None) -> Reply:
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=status, error=message, headers=headers)

    def stream_pieces(self) -> list[str]:
        if self.pieces is not None:
            return self.pieces
        return [self.text[i:i + 7] for i in range(0, len(self.text), 7)]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    pieces_sent: int = 0
    """Stream: content pieces written so far."""
    client_gone: bool = False
    """Stream: the client closed the connection before the stream's end (a write failed)."""
    ended: threading.Event = field(default_factory=threading.Event)
    """Set when the handler is done with this request, whichever way it ended."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def text(self) -> str:
        """All message contents, joined: for asserting what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


class ScriptedOpenAI:
    def __init__(self, default: Reply | Callable[[Recorded], Reply] | None = None) -> None:
        self.default = default or Reply("The articles don't say.")
        self.requests: list[Recorded] = []
        self._script: list[Reply | Callable[[Recorded], Reply]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | Callable[[Recorded], Reply]) -> None:
        with self._lock:
            self._script.extend(replies)

    def start(self) -> ScriptedOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self._script.pop(0) if self._script else self.default
        return reply(request) if callable(reply) else reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: every response ends by closing the connection, so a stream needs no chunked encoding.
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default logging
                return

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                recorded = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    server.requests.append(recorded)
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                reply = server._next(recorded)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                try:
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": reply.error or "error", "type": "server_error",
                                                            "code": None}}, reply.headers)
                    elif body.get("stream"):
                        self._stream(reply, body, recorded)
                    else:
                        self._json(200, completion(reply.text, body), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    recorded.client_gone = True  # the client gave up (its timeout, or a reader's Stop)
                finally:
                    recorded.ended.set()

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict[str, Any], recorded: Recorded) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                model = body.get("model", "test-model")
                self._event(chunk_payload(model, {"role": "assistant", "content": ""}))
                for i, piece in enumerate(reply.stream_pieces()):
                    if reply.malformed_after is not None and i == reply.malformed_after:
                        self.wfile.write(b'data: {"id": "chatcmpl-x", "choices": [{"delta": {"content": "oops\n\n')
                        self.wfile.flush()
                        return
                    if reply.cut_after is not None and i == reply.cut_after:
                        return
                    if reply.stall_after is not None and i == reply.stall_after and server._stopping.wait(reply.stall):
                        return
                    self._event(chunk_payload(model, {"content": piece}))
                    recorded.pieces_sent += 1
                    time.sleep(reply.interval)
                self._event(chunk_payload(model, {}, finish="stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        return Handler


def chunk_payload(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


def completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
