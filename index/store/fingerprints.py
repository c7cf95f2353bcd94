"""An article's near-duplicate fingerprint (``Fingerprint``) and its stored form in the ``<name>_fingerprints``
collection: one record per article version, id ``<article key>:<version>`` like a passage's, so a version is
written, committed and dropped exactly as its passages are (see ``store.py``). The record's vector is the
fingerprint's candidate vector (nearest-neighbour search finds near-copies); its metadata carries the MinHash
signature and the shingle count. How fingerprints are made and compared: ``index.pipeline.fingerprints``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.store.passages import article_key


@dataclass(frozen=True, slots=True)
class Fingerprint:
    size: int
    """Distinct shingles of the text."""
    signature: np.ndarray
    """MinHash slots (uint32)."""
    vector: np.ndarray
    """Unit-length candidate vector (float32), zeros for a text without words."""


@dataclass(frozen=True, slots=True)
class StoredFingerprint:
    article_id: str
    version: str
    fingerprint: Fingerprint


def fingerprint_id(article_id: str, version: str) -> str:
    return f"{article_key(article_id)}:{version[:16]}"


def fingerprint_meta(article_id: str, version: str, fingerprint: Fingerprint) -> dict[str, Any]:
    signature = base64.b64encode(np.ascontiguousarray(fingerprint.signature, dtype="<u4").tobytes()).decode("ascii")
    return {"article_id": article_id, "version": version, "size": fingerprint.size, "minhash": signature}


def fingerprint_from(meta: dict[str, Any], vector: Any = None) -> StoredFingerprint:
    """``vector`` None: read without it (comparing fingerprints needs only the signature and size)."""
    signature = np.frombuffer(base64.b64decode(str(meta.get("minhash", ""))), dtype="<u4").astype(np.uint32)
    return StoredFingerprint(str(meta.get("article_id", "")), str(meta.get("version", "")),
                             Fingerprint(int(meta.get("size", 0)), signature,
                                         np.asarray(vector if vector is not None else (), dtype=np.float32)))
