"""``/v1/chat/completions`` through the real openai SDK, and the password on every route (NEWSDESK_AUTH).

The server is a real ``newsdesk serve`` with a password and an LLM configured to a scripted loopback endpoint that
always fails (HTTP 500): every answer must still come back, from the articles, with a notice saying the LLM failed,
and the LLM's API key must never show up in a response or in the server's log.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_server import ROOT, WebServer

from assistant.types import Turn
from assistant.web.openai_api import RequestError, parse_request
from assistant.web.render import MARKER

SAMPLE = ROOT / "data" / "sample"
KYIV_TITLE = "Russia Pounds Kiev With 100 Missiles As Air War Escalates In Deadly Tit-For-Tat"
DUEL_TITLE = "Putin’s Bold ‘Duel’ Threat Sparks Chaos: Russia’s Deadly Missile Storm Devastates Kyiv"
USER, PASSWORD = "editor", "correct horse battery"
LLM_KEY = "sk-newsdesk-test-" + secrets.token_hex(12)


class FailingLLM:
    """An OpenAI-compatible endpoint on loopback that answers every request with HTTP 500."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                       "body": body})
                payload = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def llm() -> Iterator[FailingLLM]:
    server = FailingLLM()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, llm: FailingLLM) -> Iterator[WebServer]:
    base = tmp_path_factory.mktemp("api")
    news = base / "news"
    shutil.copytree(SAMPLE, news)
    env = {"OPENAI_API_KEY": LLM_KEY, "OPENAI_BASE_URL": llm.url, "NEWSDESK_LLM_MODEL": "scripted-model",
           "NEWSDESK_LLM_RETRIES": "0", "NEWSDESK_LLM_TIMEOUT": "10"}
    srv = WebServer(base / "home", index=[news], env=env, auth=(USER, PASSWORD), verbose=True)
    try:
        yield srv.wait_ready()
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server: WebServer) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key=f"{USER}:{PASSWORD}", max_retries=0, timeout=60)


def test_chat_completion_answers_from_the_articles_with_sources(client: Any, llm: FailingLLM) -> None:
    before = len(llm.requests)
    reply = client.chat.completions.create(
        model="newsdesk", messages=[{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "How many missiles did Russia fire at Kiev?"}])
    text = reply.choices[0].message.content
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert re.search(r"\[\d+\]", text), text
    sources = reply.sources
    assert KYIV_TITLE in [s["title"] for s in sources]
    markers = {int(n) for group in MARKER.findall(text) for n in re.findall(r"\d+", group)}
    assert markers and markers <= {s["n"] for s in sources}, "every [n] in the answer must point at a source"
    for s in sources:
        assert {"article_id", "title", "source", "published", "url", "text", "start", "end", "quotes"} <= s.keys()
        for start, end in s["quotes"]:
            assert 0 <= start < end <= len(s["text"])
    # the configured LLM failed: the reader gets the offline answer and a clear notice, not an error
    assert len(llm.requests) > before, "the configured LLM was not tried"
    assert llm.requests[-1]["authorization"] == f"Bearer {LLM_KEY}"
    assert reply.newsdesk["notice"], "the LLM failure should be explained"
    assert LLM_KEY not in json.dumps(reply.model_dump())
    assert reply.usage.completion_tokens > 0


def test_streaming_chat_completion(client: Any) -> None:
    stream = client.chat.completions.create(
        model="newsdesk", stream=True,
        messages=[{"role": "user", "content": "How many missiles did Russia fire at Kiev?"}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1, "the answer should arrive in pieces"
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    text = "".join(pieces)
    assert re.search(r"\[\d+\]", text)
    assert KYIV_TITLE in [s["title"] for s in final.sources]
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_follow_up_history_and_filters(client: Any) -> None:
    reply = client.chat.completions.create(model="newsdesk", messages=[
        {"role": "user", "content": "How many missiles did Russia fire at Kiev?"},
        {"role": "assistant", "content": "About 100 missiles [1]."},
        {"role": "user", "content": "How many of them were intercepted?"},
    ])
    assert KYIV_TITLE in [s["title"] for s in reply.sources], reply.choices[0].message.content
    filtered = client.chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": "How many missiles did Russia fire at Kiev?"}],
        extra_body={"since": "2024-06-01"})
    assert all((s["published"] or "") >= "2024-06-01" for s in filtered.sources), filtered.sources
    assert KYIV_TITLE not in [s["title"] for s in filtered.sources]


def test_bad_requests_get_openai_style_errors(client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="newsdesk", messages=[{"role": "assistant", "content": "hi"}])
    assert "user message" in str(err.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": "x"}],
                                       extra_body={"since": "last tuesday"})


def test_every_route_needs_the_password(server: WebServer, tmp_path: Path) -> None:
    import openai

    from assistant.settings import load_settings
    from assistant.web.server import build_app

    wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="editor:wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": "missiles?"}])

    paths = {"/", "/v1/chat/completions", "/v1/models", "/gradio_api/info", "/config", "/gradio_api/upload",
             "/gradio_api/queue/join", "/gradio_api/queue/data", "/manifest.json", "/theme.css"}
    app = build_app(load_settings(home=tmp_path / "home"))  # the same code the server runs: list its routes
    paths |= {re.sub(r"\{[^}]+\}", "x", p) or "/" for p in route_paths(app.routes)}
    assert {"/v1/chat/completions", "/gradio_api/queue/join", "/gradio_api/file=x", "/config"} <= paths
    assert len(paths) > 60, sorted(paths)
    good = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for path in sorted(paths):
            for method in ("GET", "POST"):
                r = http.request(method, path)
                assert r.status_code == 401, f"{method} {path} answered {r.status_code} without the password"
                assert r.headers["www-authenticate"].startswith("Basic")
        assert http.get("/", headers=good).status_code == 200
        assert http.get("/gradio_api/info", headers=good).status_code == 200
        assert http.get("/v1/models", headers={"Authorization": f"Bearer {USER}:{PASSWORD}"}).status_code == 200
        assert http.get("/", headers={"Authorization": "Basic " + base64.b64encode(b"editor:nope").decode()}
                        ).status_code == 401


def route_paths(routes: Any, prefix: str = "") -> Iterator[str]:
    """Every path of a Starlette/FastAPI app: mounts (Gradio at "/") and included routers, recursively."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if included is not None:
            yield from route_paths(included.routes, prefix)
        elif getattr(route, "routes", None) is not None and not hasattr(route, "endpoint"):  # a Mount
            yield from route_paths(route.routes, prefix + getattr(route, "path", ""))
        elif getattr(route, "path", None) is not None:
            yield prefix + route.path


def test_gradio_client_with_the_password(server: WebServer) -> None:
    from gradio_client import Client

    headers = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    got = Client(server.url + "/", headers=headers, verbose=False).predict(
        question="How many missiles did Russia fire at Kiev?", api_name="/ask")
    assert KYIV_TITLE in [c["title"] for c in got["citations"]]
    with pytest.raises(Exception, match="(?i)credentials|401|unauthori"):
        Client(server.url + "/", verbose=False)


def test_the_llm_key_never_reaches_the_log(server: WebServer, client: Any, llm: FailingLLM) -> None:
    client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": "Who mocked whom?"}])
    assert any(r["authorization"] == f"Bearer {LLM_KEY}" for r in llm.requests)
    log = server.log()
    assert "scripted" in log or "500" in log or "LLM" in log, "the LLM failure should be logged"
    assert LLM_KEY not in log
    assert LLM_KEY[-12:] not in log
    assert PASSWORD not in log


# -- the request mapping ---------------------------------------------------------------------------------------------


def test_messages_map_onto_question_and_history(settings: Any) -> None:
    req = parse_request({"model": "x", "stream": True, "sources": "Wire", "until": "2024-12-31", "messages": [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "one [1]"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url", "image_url": {}}]},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "  third?  "},
    ]}, settings)
    assert req.question == "third?"
    assert req.history == [Turn("first?", "one [1]"), Turn("second", "two")]
    assert req.stream and req.sources == ["Wire"] and str(req.until) == "2024-12-31" and req.since is None


@pytest.mark.parametrize("body", [
    {}, {"messages": []}, {"messages": [{"role": "user", "content": "  "}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"content": "no role"}]}, {"messages": [{"role": "user", "content": 42}]},
    {"messages": [{"role": "user", "content": "q"}], "sources": [1, 2]},
])
def test_unanswerable_requests_are_refused(body: dict[str, Any], settings: Any) -> None:
    with pytest.raises(RequestError):
        parse_request(body, settings)


@pytest.mark.parametrize("streamed, final, rest", [
    ("About 100 missiles [1].", "About 100 missiles [1].", ""),
    ("About 100 missiles [1] .  ", "About 100 missiles [1].", ""),
    ("Something else entirely.", "About 100 missiles [1].", "\n\nAbout 100 missiles [1]."),
    ("About 100  missiles [1].", "About 100 missiles [1].", ""),
    ("The LLM began\n\nOffline answer [1].", "Offline answer [1].", ""),
    ("Offline", "Offline answer [1].", " answer [1]."),
    ("", "Refused.", "Refused."),
])
def test_stream_ends_with_the_final_text(streamed: str, final: str, rest: str) -> None:
    from assistant.web.openai_api import missing_tail

    assert missing_tail(streamed, final) == rest


def test_web_chat_explains_an_llm_failure_and_shows_the_offline_answer(llm: FailingLLM, tmp_path: Path,
                                                                       news_dir: Path) -> None:
    """The page's chat handler with the real Assistant and the failing endpoint: notice + cited offline answer."""
    from assistant.settings import load_settings
    from assistant.web.page import WebApp
    from index import Indexer

    settings = load_settings(home=tmp_path / "home", openai_api_key=LLM_KEY, openai_base_url=llm.url,
                             llm_model="scripted-model", llm_retries=0, llm_timeout=10)
    Indexer(settings).sync([news_dir])
    web = WebApp(settings)
    assert "scripted-model" in web.mode()
    before = len(llm.requests)
    *_, (chat, panel, state, box) = web.respond("How many missiles did Russia fire at Kiev?", [], None, None, [])
    assert len(llm.requests) > before
    reply = chat[-1]["content"]
    assert '<div class="nd-notice">' in reply and "offline answer" in reply.lower(), reply
    assert '<a class="nd-cite" href="#src-1-1"' in reply
    assert LLM_KEY not in reply and "Traceback" not in reply
    assert KYIV_TITLE.replace("'", "&#x27;") in panel or KYIV_TITLE in panel
    assert state[0][1].notice and box == ""
