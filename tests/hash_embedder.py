"""A deterministic stand-in for the model, for tests that need thousands of passages in several processes.

Vectors are a hash of the text: identical texts get identical vectors, different ones near-orthogonal ones.
"""

from __future__ import annotations

import hashlib

import numpy as np


class HashEmbedder:
    model_id = "test-hash-384"
    dim = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).normal(size=self.dim)
            out[i] = vector / np.linalg.norm(vector)
        return out
