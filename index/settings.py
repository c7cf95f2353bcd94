"""The settings the indexing side reads: the store, the embedding model, sources and how they are fetched.

The product's one settings object is ``assistant.settings.Settings``, which extends this class with what retrieval,
answering and the front ends read; ``index`` types against this part only, so it never imports upward. Values come
from ``NEWSDESK_*`` environment variables (plus the standard ``OPENAI_*`` ones), read once and passed down.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "minilm-int8"


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore", populate_by_name=True)

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("newsdesk")))
    """Data home: the on-disk Chroma store, uploads and caches live below it."""

    chroma_host: str | None = None
    """When set, use a Chroma server (``chroma run``) instead of the on-disk store."""
    chroma_port: int = 8000
    collection: str = "newsdesk"
    """Prefix of the Chroma collections (``<name>_chunks``, ``<name>_articles`` and ``<name>_fingerprints``)."""

    embed_model: str = DEFAULT_EMBED_MODEL
    """``minilm-int8`` (offline default), ``openai:<model>``, or ``st:<sentence-transformers name or path>``."""
    embed_batch_size: int = 8
    """Texts per model call: on 2 cores batch 8 is as fast as 32 and peaks ~0.9 GB lower (bench/embed_models.py)."""
    embed_threads: int = 0
    """onnxruntime intra-op threads; 0 means one per core."""

    chunk_size: int = 200
    """Chunk length in tiktoken (cl100k) tokens."""
    chunk_overlap: int = 40

    max_file_mb: float = 20.0
    """Larger single-article files (txt, md, html) are refused; JSON/JSONL collections may be larger."""
    max_collection_mb: float = 1024.0
    max_json_mb: float = 100.0
    """A .json file is parsed whole (several times its size in memory); .jsonl streams up to max_collection_mb."""
    max_article_chars: int = 1_000_000

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "NEWSDESK_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "NEWSDESK_OPENAI_BASE_URL")
    )
    llm_timeout: float = 60.0
    """Seconds for one call to an OpenAI-compatible endpoint (embeddings here, answers in ``assistant``)."""
    llm_retries: int = 2

    allow_private_urls: bool = False
    """Let feeds and ``newsdesk index URL`` fetch private/loopback addresses (off: SSRF guard)."""
    allow_networks: str = ""
    """Comma-separated networks (CIDR) fetched despite that guard, e.g. one intranet feed server ``10.1.2.3/32``."""
    fetch_timeout: float = 20.0
    """Seconds for one fetch (connect, headers, then the whole body)."""
    fetch_max_mb: float = 10.0
    feed_interval: float = 300.0
    """Seconds between polls of a feed."""
    feed_max_backoff: float = 3600.0
    """Longest wait before retrying a failing feed or article page (the wait doubles per failure)."""
    watch_debounce: float = 1.0
    """Seconds of quiet in a watched folder before it is synced: a burst of changes costs one sync."""
    follow_external_links: bool = False
    """Index symbolic links whose target lies outside the folder being synced (off: skipped with the reason)."""

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"
