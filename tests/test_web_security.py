"""Attacks on a running ``newsdesk serve``, made as raw HTTP requests on loopback, the way a hostile client would.

Each test crafts what the security review sent (a forged upload path, a rebinding ``Host``, oversized or malformed
chat requests) and checks the refusal and that nothing indexed or stored changed.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_server import ROOT, WebServer

SAMPLE = ROOT / "data" / "sample"
NEWSDESK = str(Path(sys.executable).parent / "newsdesk")
SECRET = "The vault code of the Port Avelin harbour office is 7-4-1-9, the harbour master wrote in a private memo."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    base = tmp_path_factory.mktemp("websec")
    news = base / "news"
    shutil.copytree(SAMPLE, news)
    srv = WebServer(base / "home", [news], env={"NEWSDESK_ALLOWED_HOSTS": "news.example.org,.intranet.test"})
    try:
        yield srv.wait_ready()
    finally:
        srv.stop()


def queue_call(server: WebServer, event: str, elem_id: str, data: list[Any]) -> list[dict[str, Any]]:
    """Posts one event to Gradio's queue as its own page would, and returns the messages streamed back."""
    config = httpx.get(server.url + "/config", timeout=30).json()
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    fn_index = next(i for i, dep in enumerate(config["dependencies"])
                    if [component, event] in [list(t) for t in dep["targets"]])
    session = uuid.uuid4().hex
    joined = httpx.post(server.url + "/gradio_api/queue/join", timeout=30, json={
        "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": component})
    assert joined.status_code == 200, joined.text
    messages = []
    with httpx.stream("GET", server.url + "/gradio_api/queue/data", params={"session_hash": session},
                      timeout=120) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                messages.append(message)
                if message.get("msg") == "process_completed":
                    break
    return messages


def test_upload_event_cannot_read_a_server_file(server: WebServer, tmp_path: Path) -> None:
    """The review's HIGH finding: a FileData naming any readable file was copied into uploads/ and indexed."""
    memo = tmp_path / "x" / "memo.md"
    memo.parent.mkdir()
    memo.write_text(f"---\ntitle: Harbour office memo\n---\n{SECRET}\n")
    before = httpx.get(server.url + "/gradio_api/info", timeout=30).status_code
    forged = [{"path": str(memo), "orig_name": "memo.md", "meta": {"_type": "gradio.FileData"}}]
    messages = queue_call(server, "upload", "nd-upload", [forged])
    done = messages[-1]
    assert done["msg"] == "process_completed" and done["success"] is False, messages
    assert "memo.md to the gradio cache dir because it was not uploaded by a user" in server.log()
    assert memo.is_file(), "the victim file must be left alone"
    copies = [p for p in server.home.rglob("*") if p.is_file() and p.suffix == ".md"]
    assert not copies, f"nothing may be copied into the data home: {copies}"
    r = post_chat(server, user("What is the vault code of the harbour office?"))
    assert before == 200 and r.status_code == 200
    assert "7-4-1-9" not in r.json()["choices"][0]["message"]["content"]
    assert all("memo" not in s["title"].lower() for s in r.json()["sources"])


def test_gradio_keeps_uploads_in_a_private_folder_below_the_home(server: WebServer, tmp_path: Path) -> None:
    article = tmp_path / "harbour-lights.txt"
    article.write_text("Harbour lights repaired\nThe harbour lights of Port Avelin were repaired on Tuesday, the "
                       "port said, after a storm damaged three of them.\n")
    with article.open("rb") as handle:
        r = httpx.post(server.url + "/gradio_api/upload", files={"files": (article.name, handle, "text/plain")},
                       timeout=30)
    assert r.status_code == 200, r.text
    cached = Path(r.json()[0])
    caches = list((server.home / "tmp").glob("gradio-*"))
    assert len(caches) == 1 and cached.resolve().is_relative_to(caches[0].resolve()), (cached, caches)
    assert stat.S_IMODE(caches[0].stat().st_mode) == 0o700
    messages = queue_call(server, "upload", "nd-upload",
                          [[{"path": str(cached), "orig_name": article.name, "meta": {"_type": "gradio.FileData"}}]])
    assert "added" in json.dumps(messages[-1]), messages[-1]
    assert (server.home / "uploads" / article.name).is_file()
    assert not cached.exists(), "the cache copy is removed once the upload is saved"


def test_upload_cache_is_removed_when_the_server_stops(tmp_path: Path) -> None:
    srv = WebServer(tmp_path / "home", []).wait_ready()
    caches = list((tmp_path / "home" / "tmp").glob("gradio-*"))
    srv.stop()
    assert len(caches) == 1 and not caches[0].exists()


@pytest.mark.parametrize("host, status", [
    ("127.0.0.1", 200), ("localhost", 200), ("[::1]", 200), ("news.example.org", 200), ("a.intranet.test", 200),
    ("evil.example", 421), ("127.0.0.1.nip.io", 421), ("localhost.evil.example", 421), ("intranet.test.evil", 421),
])
def test_host_header_must_name_a_served_host(server: WebServer, host: str, status: int) -> None:
    """DNS rebinding: the browser sends the attacker's name in Host while connecting to 127.0.0.1."""
    for path in ("/", "/gradio_api/info", "/v1/models"):
        r = httpx.get(server.url + path, headers={"Host": f"{host}:{server.port}"}, timeout=30)
        assert r.status_code == status, (path, host, r.status_code)
        if status == 421:
            assert "NEWSDESK_ALLOWED_HOSTS" in r.json()["error"]["message"]


def post_chat(server: WebServer, body: Any) -> httpx.Response:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(server.url + "/v1/chat/completions", content=raw, timeout=120,
                      headers={"Content-Type": "application/json"})


def user(text: str) -> dict[str, Any]:
    return {"model": "newsdesk", "messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize("body, status, says", [
    (user("How many missiles? " + "x" * 5000), 400, "the question is 5,019 characters long; the limit is 4,000"),
    ({"messages": [{"role": "user", "content": "q" * 3000}, {"role": "assistant", "content": "a" * 3000}] * 6
      + [{"role": "user", "content": "And then?"}]}, 400, "the conversation is 36,009 characters long"),
    ('{"messages": [{"role": "user", "content": "What hit Kyiv? \\udc00"}]}', 400,
     "invalid character (lone surrogate U+DC00 at character 16)"),
    ('{"messages": [{"role": "assistant", "content": "\\ud800"}, {"role": "user", "content": "Kyiv?"}]}', 400,
     "messages[0] contains an invalid character"),
    ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
    ({**user("What hit Kyiv?"), "max_tokens": -5}, 400, "'max_tokens' must be a positive integer"),
    ({**user("What hit Kyiv?"), "max_tokens": "100"}, 400, "'max_tokens' must be a positive integer"),
    ({**user("What hit Kyiv?"), "max_tokens": 2.5}, 400, "'max_tokens' must be a positive integer"),
    ({**user("What hit Kyiv?"), "stream": "yes"}, 400, "'stream' must be true or false"),
    ({**user("What hit Kyiv?"), "stream": 1}, 400, "'stream' must be true or false"),
])
def test_chat_api_refuses_bad_requests_with_400(server: WebServer, body: Any, status: int, says: str) -> None:
    r = post_chat(server, body)
    assert r.status_code == status, r.text
    assert says in r.json()["error"]["message"], r.json()


def test_chat_api_refuses_a_huge_body_before_reading_it_all(server: WebServer) -> None:
    r = post_chat(server, user("Q" * (10 * 1024 * 1024)))
    assert r.status_code == 413 and "conversation limit is 32,000 characters" in r.json()["error"]["message"]
    ok = post_chat(server, {**user("How many missiles hit Kyiv?"), "max_tokens": 200, "stream": False})
    assert ok.status_code == 200 and "[1]" in ok.json()["choices"][0]["message"]["content"]


def test_web_chat_refuses_an_over_long_question_without_echoing_it(server: WebServer) -> None:
    question = "How many missiles hit Kyiv? " + "padding " * 1000
    messages = queue_call(server, "submit", "nd-question", [question, [], None, None, []])
    chat = messages[-1]["output"]["data"][0]
    reply = chat[-1]["content"][0]["text"].replace("\\", "")  # Markdown-escaped
    assert reply.startswith("Not asked: the question is 8,027 characters long; the limit is 4,000"), reply
    assert "padding padding" not in json.dumps(messages), "the refused question is not echoed into the chat"


def test_cli_refuses_long_and_undecodable_questions(server: WebServer) -> None:
    env = {"NEWSDESK_HOME": str(server.home), "PATH": "/usr/bin:/bin"}
    long = subprocess.run([NEWSDESK, "ask", "x" * 5000], capture_output=True, text=True, env=env, timeout=120)
    assert long.returncode == 2 and "the question is 5,000 characters long; the limit is 4,000" in long.stderr
    assert "Traceback" not in long.stderr
    bad = subprocess.run([NEWSDESK.encode(), b"ask", b"What hit Kyiv \xff?"], capture_output=True, env=env,
                         timeout=120)
    err = bad.stderr.decode()
    assert bad.returncode == 2 and "Traceback" not in err
    assert "invalid character (lone surrogate U+DCFF at character 15)" in err
