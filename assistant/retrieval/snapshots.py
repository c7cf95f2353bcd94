"""Keeping the keyword snapshot current: rebuilt when ``Store.generation`` moves.

While the store is small (``bm25_rebuild_inline_max`` passages) the rebuild runs inside the query that notices the
move; past that, in a background thread, serving the previous snapshot meanwhile (50k passages take about 11 s to
read and index, bench/query_speed.py). A stale snapshot never shows a deleted or uncommitted passage: the retriever
reads what it returns from the store and checks it is committed.
"""

from __future__ import annotations

import logging
import threading

from assistant.retrieval.keyword import KeywordIndex
from index.store import Store

log = logging.getLogger(__name__)


class KeywordSnapshots:
    """The current snapshot of one store; safe to use from several threads."""

    def __init__(self, store: Store, inline_max: int) -> None:
        self.store = store
        self.inline_max = inline_max
        self.current: KeywordIndex | None = None
        self.builder: threading.Thread | None = None
        """The background rebuild, while one runs (tests join it)."""
        self._build_lock = threading.Lock()
        """Held while a snapshot is built: a second build waits for the first instead of repeating it."""
        self._builder_lock = threading.Lock()

    def get(self) -> KeywordIndex:
        """The snapshot to search now. The very first one is built inline (a one-shot CLI search has nothing else
        to serve), unless ``warm_up`` started it already, in which case this waits for that build."""
        generation = self.store.generation
        current = self.current
        if current is not None and current.generation == generation:
            return current
        if current is None or current.size <= self.inline_max:
            return self.refresh(generation)
        self._refresh_in_background(generation)
        return current

    def refresh(self, generation: int | None = None) -> KeywordIndex:
        """Rebuild the snapshot now (waits for a rebuild already running)."""
        with self._build_lock:
            if generation is None:
                generation = self.store.generation
            current = self.current
            if current is None or current.generation != generation:
                current = self.current = KeywordIndex.build(self.store, generation)
            return current

    def warm_up(self) -> None:
        """Start building the first snapshot in the background, unless there is one."""
        if self.current is None:
            self._refresh_in_background(self.store.generation)

    def _refresh_in_background(self, generation: int) -> None:
        with self._builder_lock:
            if self.builder is not None and self.builder.is_alive():
                return

            def build() -> None:
                try:
                    self.refresh(generation)
                except Exception:  # a failed rebuild leaves the old snapshot serving; the next query retries
                    log.exception("rebuilding the keyword index failed")

            self.builder = threading.Thread(target=build, name="newsdesk-bm25", daemon=True)
            self.builder.start()
