"""The whole web server as one ASGI app: the Gradio page and its API, and ``/v1/chat/completions``, behind the host
check and the optional password. Tests run it with uvicorn on a free loopback port; ``launcher.serve`` runs it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Sequence

import gradio as gr
from fastapi import FastAPI

from assistant.assistant import Assistant
from assistant.settings import Settings
from assistant.web.auth import BasicAuth, parse_credentials
from assistant.web.hosts import HostCheck
from assistant.web.openai_api import router as openai_router
from assistant.web.page import WebApp
from assistant.web.style import CSS, HEAD
from index import Indexer
from index.sources.watch import Watcher


def build_app(settings: Settings, assistant: Assistant | None = None, index_paths: Sequence[str] = (),
              watcher: Watcher | None = None, indexer: Indexer | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The whole server as one ASGI app; ``host`` is the address it is served on (``Host`` headers are checked)."""
    web = WebApp(settings, assistant, index_paths, watcher, indexer)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:  # here, not atexit: uvicorn re-raises SIGTERM after shutting down, which skips atexit handlers
            shutil.rmtree(web.upload_cache, ignore_errors=True)

    app = FastAPI(title="newsdesk", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.include_router(openai_router(web.assistant))
    blocks = web.blocks()
    gr.mount_gradio_app(
        app, blocks, path="/", css=CSS, head=HEAD, show_error=False, run_history=False,
        footer_links=["api", "settings"], max_file_size=int(settings.upload_max_mb * 1024 * 1024),
        allowed_paths=[], ssr_mode=False,
    )
    # Gradio refuses event inputs naming files outside its upload cache only once the Blocks "launched", which a
    # mounted Blocks never does: without this, posting {"path": "/any/server/file"} to the upload event had that
    # file copied in and indexed. ``launch()`` and Gradio's reload mode set the same flag.
    blocks.has_launched = True
    if settings.auth:
        app.add_middleware(BasicAuth, credentials=parse_credentials(settings.auth))
    app.add_middleware(HostCheck, served_host=host, extra=settings.allowed_hosts)  # outermost: before auth
    app.state.web = web
    return app
