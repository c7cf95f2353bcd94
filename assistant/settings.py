"""The product's one settings object: what ``index`` reads, plus retrieval, answering and the front ends.

Read once from ``NEWSDESK_*`` environment variables (plus the standard ``OPENAI_*`` ones) by whoever starts the
process (CLI, web server, tests, benches) and passed down; ``index`` sees it as its ``IndexSettings`` part.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from index.settings import IndexSettings


class Settings(IndexSettings):
    llm_model: str | None = None
    """Chat model for generated answers; with no model and no API key the answer is extractive (offline)."""
    llm_context_tokens: int = 8192
    llm_answer_tokens: int = 600

    top_k: int = 8
    """Passages retrieved for an answer."""
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    """``hybrid`` (dense + BM25), ``dense`` or ``bm25``."""
    fusion: Literal["score", "rrf"] = "score"
    """``score``: BM25 and cosine each scaled by their best hit, then summed (tuned on the dev set); or ``rrf``."""
    dense_weight: float = 1.0
    """Weight of the dense half in the fusion (the BM25 half weighs 1)."""
    rrf_k: int = 10
    """Rank constant of reciprocal-rank fusion (only with ``fusion=rrf``)."""
    retrieval_candidates: int = 30
    """Candidates each half contributes before fusion."""
    bm25_rebuild_inline_max: int = 20_000
    """Passages up to which a stale keyword index is rebuilt inside the query; above, in the background."""

    today: date | None = None
    """Pins "today" (``YYYY-MM-DD``) for reading the dates of questions and filters: asking an archive as of a past
    day, or a server under test. Unset: the clock's date."""

    max_question_chars: int = 4000
    """Longest question accepted (web, CLI, API). A 10 MB question took 38 s and 338 MB to refuse by retrieval."""
    max_conversation_chars: int = 32000
    """Longest conversation (all messages) accepted by ``/v1/chat/completions``."""

    auth: str | None = None
    """``user:password`` protecting every page and API route of the web app."""
    upload_max_mb: float = 20.0
    allowed_hosts: str = ""
    """Comma-separated extra ``Host`` names the web app answers (loopback names and the served host always work):
    anything else is refused, so a DNS-rebinding page cannot reach a server bound to loopback."""

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_model or self.openai_api_key)


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; explicit overrides (tests, CLI flags) win."""
    return Settings(**overrides)  # type: ignore[arg-type]
