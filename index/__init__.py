"""Sources → Chroma: loading, chunking, embedding, the store, incremental sync and watching."""

from index.article import Article, Failure
from index.settings import Settings, load_settings
from index.store import Store, StoreError
from index.sync import Indexer, ItemResult, Progress, SyncReport

__all__ = [
    "Article", "Failure", "Indexer", "ItemResult", "Progress", "Settings", "Store", "StoreError", "SyncReport",
    "load_settings",
]
