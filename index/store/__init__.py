"""The passage repository: the only code that imports chromadb or touches its collections (see ``store.py``)."""

from index.store.connection import StoreError
from index.store.filters import Filters, day_of
from index.store.fingerprints import Fingerprint, StoredFingerprint
from index.store.passages import (
    Passage,
    article_key,
    chunk_id,
    chunk_version,
    date_number,
    passage_from,
    passage_meta,
)
from index.store.records import ArticleRecord, StoryMember
from index.store.store import PAGE, Store, publication_order

__all__ = [
    "PAGE", "ArticleRecord", "Filters", "Fingerprint", "Passage", "Store", "StoreError", "StoredFingerprint",
    "StoryMember", "article_key", "chunk_id", "chunk_version", "date_number", "day_of", "passage_from",
    "passage_meta", "publication_order",
]
