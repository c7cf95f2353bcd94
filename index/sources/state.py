"""Persisted state of watched folders and feeds: ``<home>/sources.json``.

Written by the watcher (CLI ``watch`` or ``serve --watch``), read by ``newsdesk status`` and the web library panel,
possibly from another process: every update is a locked read-modify-write and an atomic file replace, so a reader
never sees half a file and two writers never lose each other's fields.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from index.settings import IndexSettings
from index.store import ArticleRecord

PUBLIC = ("source", "kind", "last_sync", "last_attempt", "error", "error_at", "failures", "next_poll",
          "added", "updated", "removed", "failed")
"""Fields shown to users; the rest (etag, entry fingerprints, retries) is the poller's bookkeeping."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SourcesState:
    def __init__(self, settings: IndexSettings) -> None:
        self.path: Path = settings.home / "sources.json"
        self._file_lock = FileLock(str(self.path) + ".lock")
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # a damaged state file costs at most one unconditional poll, never the index
        return data if isinstance(data, dict) else {}

    def get(self, source: str) -> dict[str, Any]:
        return dict(self.load().get(source, {}))

    def update(self, source: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the entry for ``source``; returns the new entry."""
        with self._lock, self._file_lock:
            data = self.load()
            entry = {**data.get(source, {}), **fields, "source": source}
            data[source] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
            return entry


def watched_sources(settings: IndexSettings, records: Iterable[ArticleRecord]) -> list[dict[str, Any]]:
    """Public view of every watched source, with its article count taken live from the store's records."""
    entries = SourcesState(settings).load()
    origins = [r.origin for r in records if r.version]
    out: list[dict[str, Any]] = []
    for key, entry in sorted(entries.items()):
        view = {name: entry.get(name) for name in PUBLIC}
        view["source"] = key
        if entry.get("kind") == "folder":
            prefix = key.rstrip(os.sep) + os.sep
            view["articles"] = sum(1 for o in origins if o.startswith(prefix))
        else:
            view["articles"] = sum(1 for o in origins if o == key)
        out.append(view)
    return out
