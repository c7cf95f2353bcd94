"""Near-duplicate fingerprints of an article's text, and the rule that makes two articles one story.

An article is reduced to its shingles: every run of ``SHINGLE_WORDS`` consecutive words of the body text, words
normalised (NFKC, case-folded, letters and digits only). A re-publication under a new headline, with a byline, a
changed lead, boilerplate or trimmed/added paragraphs, shares most of its shingles with the original; another story
on the same topic, even in the same words, shares few (bench/story_grouping.py measures both).

Two sketches of the shingle set are kept, so the whole set never is:

- a MinHash signature (datasketch, ``PERMUTATIONS`` affine permutations of 32-bit hashes), whose matching slots
  estimate the Jaccard similarity; with the two exact set sizes that gives the **containment** of the smaller set in
  the larger, which is what ``same_story`` compares: a copy trimmed to half its length is still wholly contained;
- a hashed shingle-count vector (``VECTOR_DIM`` signed buckets, unit length) whose cosine approximates
  ``|A ∩ B| / sqrt(|A| |B|)``: the store's nearest-neighbour search over these finds the candidates.

Hash values are pinned (blake2b of the shingle, datasketch's ``affine32`` scheme with a fixed seed), so stored
signatures stay comparable across library versions; ``SCHEME`` names all of it, and the date rule, and changes with
any of it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

import numpy as np

from index.store import Fingerprint

SHINGLE_WORDS = 5
"""Words per shingle: 5 keeps same-topic stories apart (shared phrases are short) while a changed word costs a
re-publication only 5 shingles (bench/story_grouping.py compares 3, 4 and 5)."""
PERMUTATIONS = 128
"""MinHash slots: the Jaccard estimate's standard error is at most 0.044 (sqrt(0.25 / 128))."""
VECTOR_DIM = 256
"""Buckets of the candidate vector: unrelated articles' cosines spread with a standard deviation of about
1 / sqrt(256) = 0.06, well below a half-length copy's sqrt(0.5) = 0.71."""
SEED = 1
STORY_DAYS = 7
"""Near-copies published further apart than this are not one story but a template that recurs (a cup final each
June, a monthly rate decision: the same sentences, another year's names and figures); the copies of a wire story
follow it within days. Either date unknown: the text alone decides (``stories.close``)."""
SCHEME = f"w{SHINGLE_WORDS}-blake2b-affine32-s{SEED}-p{PERMUTATIONS}-v{VECTOR_DIM}-d{STORY_DAYS}"
"""Stored with the fingerprints: a store grouped under another scheme (or date rule) is grouped again."""

CONTAINMENT = 0.7
"""Two articles are one story when this share of the smaller one's shingles is also in the other (estimated).
bench/story_grouping.py (882 news-length articles, 1,016 short RealTimeQA passages): at 0.7 pair precision 1.000
and recall 0.995 / 1.000 and 0.957; at 0.6 short passages sharing only an outlet's footer grouped (precision 0.74);
at 0.8 recall fell to 0.959 / 0.891."""
MIN_SHINGLES = 10
"""Articles with fewer shingles (about 14 words) never group: too short to tell a copy from a coincidence."""

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the distinct shingles of ``text`` (one shingle of all its words when it is shorter)."""
    found = words(text)
    if not found:
        return np.zeros(0, dtype=np.uint64)
    span = min(SHINGLE_WORDS, len(found))
    shingles = {" ".join(found[at:at + span]) for at in range(len(found) - span + 1)}
    return np.array([int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
                     for s in shingles], dtype=np.uint64)


def fingerprint(text: str) -> Fingerprint:
    hashes = shingle_hashes(text)
    vector = np.zeros(VECTOR_DIM, dtype=np.float32)
    if hashes.size:
        buckets = (hashes >> np.uint64(32)) % np.uint64(VECTOR_DIM)
        signs = np.where(hashes & np.uint64(1 << 31), -1.0, 1.0).astype(np.float32)
        np.add.at(vector, buckets.astype(np.intp), signs)
        norm = float(np.linalg.norm(vector))
        if norm:
            vector /= norm
    return Fingerprint(int(hashes.size), _signature(hashes & np.uint64(0xFFFFFFFF)), vector)


def _signature(hashes32: np.ndarray) -> np.ndarray:
    minhash = _minhash_class()(num_perm=PERMUTATIONS, seed=SEED, scheme="affine32", hashfunc=int,
                               permutations=_permutations())
    for at in range(0, hashes32.size, 8192):  # a slice's hashes x permutations matrix stays near 4 MB
        minhash.update_batch(hashes32[at:at + 8192].tolist())
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


@cache
def _minhash_class() -> type:
    from datasketch import MinHash  # imported when first needed: 0.4 s, most of it scipy

    return MinHash


@cache
def _permutations() -> np.ndarray:
    """Generated once: a MinHash would otherwise draw its 2 x 128 parameters anew for every article."""
    return _minhash_class()(num_perm=PERMUTATIONS, seed=SEED, scheme="affine32").permutations


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated share of the smaller shingle set found in the larger: |A ∩ B| = J (|A| + |B|) / (1 + J)."""
    if not a.size or not b.size:
        return 0.0
    j = jaccard(a.signature, b.signature)
    return min(1.0, j * (a.size + b.size) / (1 + j) / min(a.size, b.size))


def groupable(fingerprint: Fingerprint) -> bool:
    return fingerprint.size >= MIN_SHINGLES


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    return groupable(a) and groupable(b) and containment(a, b) >= CONTAINMENT


def containments(prints: list[Fingerprint]) -> np.ndarray:
    """``containment`` of every pair at once (upper triangle; 0 below it and for pairs not ``groupable``)."""
    n = len(prints)
    out = np.zeros((n, n))
    if n < 2:
        return out
    signatures = np.stack([p.signature for p in prints])
    sizes = np.array([p.size for p in prints], dtype=np.float64)
    for i in range(n - 1):
        j = np.count_nonzero(signatures[i + 1:] == signatures[i], axis=1) / signatures.shape[1]
        smaller = np.maximum(np.minimum(sizes[i], sizes[i + 1:]), 1)
        estimate = np.minimum(1.0, j * (sizes[i] + sizes[i + 1:]) / (1 + j) / smaller)
        both = (sizes[i] >= MIN_SHINGLES) & (sizes[i + 1:] >= MIN_SHINGLES)
        out[i, i + 1:] = np.where(both, estimate, 0.0)
    return out


def story_pairs(prints: list[Fingerprint]) -> list[tuple[int, int]]:
    """Index pairs of ``prints`` that are one story (``same_story``)."""
    return [(int(a), int(b)) for a, b in np.argwhere(containments(prints) >= CONTAINMENT)]
