"""Sources → Chroma: loading, chunking, embedding, the store, incremental sync and watching."""

from index.article import Article, Failure
from index.settings import IndexSettings
from index.store import Store, StoreError
from index.sync import Indexer, ItemResult, Progress, SyncReport

__all__ = [
    "Article", "Failure", "Indexer", "ItemResult", "Progress", "IndexSettings", "Store", "StoreError", "SyncReport",
]
