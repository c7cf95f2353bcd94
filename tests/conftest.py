"""Shared fixtures: a real on-disk Chroma in a temp home, the real offline embedding model, sample articles."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.settings import Settings, load_settings
from index import Indexer
from index.pipeline.embedding import OnnxMiniLM

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


class CountingEmbedder:
    """The real model, counting the texts it embeds: tests assert on work done, not on timings."""

    def __init__(self, inner: OnnxMiniLM) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def reset(self) -> None:
        self.texts.clear()


@pytest.fixture(scope="session")
def minilm() -> OnnxMiniLM:
    return OnnxMiniLM()


@pytest.fixture
def embedder(minilm: OnnxMiniLM) -> CountingEmbedder:
    return CountingEmbedder(minilm)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NEWSDESK_LLM_MODEL", "NEWSDESK_CHROMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    return load_settings(home=tmp_path / "home")


@pytest.fixture
def indexer(settings: Settings, embedder: CountingEmbedder) -> Indexer:
    return Indexer(settings, embedder=embedder)


@pytest.fixture
def news_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the bundled sample articles."""
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    return folder
