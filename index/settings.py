"""One typed settings object for the whole product.

It lives in ``index`` because that is the bottom layer: ``assistant`` and the front end import it from here,
and ``index`` never imports ``assistant``. Values come from ``NEWSDESK_*`` environment variables (plus the
standard ``OPENAI_*`` ones) and are read once, then passed down.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "minilm-int8"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore", populate_by_name=True)

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("newsdesk")))
    """Data home: the on-disk Chroma store, uploads and caches live below it."""

    chroma_host: str | None = None
    """When set, use a Chroma server (``chroma run``) instead of the on-disk store."""
    chroma_port: int = 8000
    collection: str = "newsdesk"
    """Prefix of the two Chroma collections (``<name>_chunks`` and ``<name>_articles``)."""

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
    llm_model: str | None = None
    """Chat model for generated answers; with no model and no API key the answer is extractive (offline)."""
    llm_context_tokens: int = 8192
    llm_answer_tokens: int = 600
    llm_timeout: float = 60.0
    llm_retries: int = 2

    top_k: int = 8
    """Passages retrieved for an answer."""
    retrieval_mode: str = "hybrid"
    """``hybrid`` (dense + BM25), ``dense`` or ``bm25``."""
    fusion: str = "score"
    """``score``: BM25 and cosine each scaled by their best hit, then summed (tuned on the dev set); or ``rrf``."""
    dense_weight: float = 1.0
    """Weight of the dense half in the fusion (the BM25 half weighs 1)."""
    rrf_k: int = 10
    """Rank constant of reciprocal-rank fusion (only with ``fusion=rrf``)."""
    retrieval_candidates: int = 30
    """Candidates each half contributes before fusion."""
    bm25_rebuild_inline_max: int = 20_000
    """Passages up to which a stale keyword index is rebuilt inside the query; above, in the background."""

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

    auth: str | None = None
    """``user:password`` protecting every page and API route of the web app."""
    upload_max_mb: float = 20.0
    allowed_hosts: str = ""
    """Comma-separated extra ``Host`` names the web app answers (loopback names and the served host always work):
    anything else is refused, so a DNS-rebinding page cannot reach a server bound to loopback."""

    max_question_chars: int = 4000
    """Longest question accepted (web, CLI, API). A 10 MB question took 38 s and 338 MB to refuse by retrieval."""
    max_conversation_chars: int = 32000
    """Longest conversation (all messages) accepted by ``/v1/chat/completions``."""
    follow_external_links: bool = False
    """Index symbolic links whose target lies outside the folder being synced (off: skipped with the reason)."""

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_model or self.openai_api_key)


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; explicit overrides (tests, CLI flags) win."""
    return Settings(**overrides)  # type: ignore[arg-type]
