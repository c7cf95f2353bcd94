"""Hybrid passage retrieval: dense vectors and BM25 keywords over the store, fused into one ranking.

``Retriever.search(query, k, filters)`` is the one entry point; the parts behind it are composed once, from the
settings, when the retriever is made:

- ``dense``: the store's nearest neighbours (Chroma's HNSW index: ids and distances only).
- ``keyword`` and ``snapshots``: BM25 over an in-memory snapshot of the committed passages, rebuilt when the store
  changes.
- ``fusion``: the two halves' scores into one ranking (``score``, the default, or reciprocal-rank ``rrf``).
- ``modes``: ``hybrid`` (both, fused), ``dense`` or ``bm25``, each giving a ranking of passage ids;
  ``retriever`` reads the best of them from the store.
- ``stories``: one member of each story group (syndicated copies) kept, the others named on it.

Only passages of an article's committed version are returned (see ``index.store``): a half-written article is never
visible, even to a reader running while a sync writes; a stale keyword snapshot is harmless for the same reason.
"""

from assistant.retrieval.keyword import KeywordIndex
from assistant.retrieval.retriever import Retriever

__all__ = ["KeywordIndex", "Retriever"]
