"""Process start-up for ``newsdesk serve``: index what was asked for, start the watcher, then serve the web app.

The CLI calls ``serve``; ``app.py`` is a thin entry point to the same.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence

from assistant.assistant import Assistant
from assistant.report import report_lines
from assistant.settings import Settings
from assistant.web.auth import parse_credentials
from assistant.web.page import indexer_for
from assistant.web.server import build_app
from index import Indexer
from index.pipeline.embedding import make_embedder
from index.sources.watch import Watcher

ANSWER_THREADS = 1
"""onnxruntime threads for the embeddings of questions in the server, unless ``NEWSDESK_EMBED_THREADS`` is set. The
server answers several sessions at once, on the machine that also runs the reader's browser, and a pool of one
thread per core then waits for threads another process holds: with the page in Chromium on two cores, timed in
the page as bench/web_latency.py does, answers completed in p50 205 ms with one thread, 239-280 ms with two.
Alone, a question is 16 ms faster with two (70 against 86 ms), which the CLI keeps. Indexing keeps one thread per
core."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, settings: Settings) -> str | None:
    if settings.auth or is_loopback(host):
        return None
    return (f"serving on {host} without a password: anyone who can reach this address can read and change the "
            "library. Set NEWSDESK_AUTH=user:password.")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, index_paths: Sequence[str] = (),
          watch: Sequence[str] = (), feeds: Sequence[str] = ()) -> int:
    """``newsdesk serve``: index what was asked for, then serve the page until interrupted."""
    import uvicorn

    if settings.auth:
        parse_credentials(settings.auth)  # fail before anything starts
    warning = bind_warning(host, settings)
    if warning:
        print(f"newsdesk: WARNING: {warning}", file=sys.stderr)
    answering = settings if settings.embed_threads else settings.model_copy(update={"embed_threads": ANSWER_THREADS})
    assistant = Assistant(settings, embedder=make_embedder(answering))
    indexer = indexer_for(assistant)
    if index_paths:
        report = indexer.sync(list(index_paths))
        summary, *details = report_lines(report)
        print(f"newsdesk: indexed {', '.join(index_paths)}: {summary}", file=sys.stderr)
        for line in details:
            print(line, file=sys.stderr)
    watcher = start_watcher(settings, indexer, watch, feeds)
    assistant.warm_up()  # the keyword index and the models load before the page is served, not in the first question
    app = build_app(settings, assistant, [*index_paths, *watch], watcher, indexer, host=host)
    if watcher is not None:
        print(f"newsdesk: watching {', '.join([*watch, *feeds])}", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(f"newsdesk: web chat on http://{shown}:{port}  (OpenAI-compatible API at /v1/chat/completions)",
          file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


def start_watcher(settings: Settings, indexer: Indexer, watch: Sequence[str], feeds: Sequence[str]
                  ) -> Watcher | None:
    """Keeps ``--watch`` folders and ``--feed`` urls indexed in the background with the web app's indexer; raises
    ``WatchError`` for a source that cannot be watched."""
    if not watch and not feeds:
        return None
    return Watcher(settings, indexer, folders=watch, feeds=feeds,
                   on_sync=lambda event: print(event.line(), file=sys.stderr, flush=True)).start()
