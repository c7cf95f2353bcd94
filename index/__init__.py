"""Sources → Chroma. ``sources``: where articles come from (files, pages, feeds, the watcher); ``pipeline``: how
they are stored (chunking, embedding, incremental sync); ``store``: the passage repository over Chroma."""

from index.article import Article, Failure
from index.pipeline.report import ItemResult, Progress, SyncReport
from index.pipeline.sync import Indexer
from index.settings import IndexSettings
from index.store import Store, StoreError

__all__ = [
    "Article", "Failure", "Indexer", "ItemResult", "Progress", "IndexSettings", "Store", "StoreError", "SyncReport",
]
