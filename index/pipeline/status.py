"""What ``newsdesk status`` and the web library panel show about the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from index.pipeline.stories import story_counts
from index.settings import IndexSettings
from index.sources.state import watched_sources
from index.store import Store


@dataclass(frozen=True)
class Status:
    articles: int
    chunks: int
    sources: dict[str, int]
    """Articles per source name, most first."""
    embed_model: str | None
    location: str
    last_sync: str | None
    watched: list[dict[str, object]] = field(default_factory=list)
    """Watched folders and feeds with their last sync, counts and last error (see index.sources.watch)."""
    stories: int = 0
    """Story groups of the articles (an article no other nearly copies is a story of its own)."""
    grouped_articles: int = 0
    """Articles in stories of two or more: re-publications of one story (index.pipeline.stories)."""
    grouped_stories: int = 0
    """Stories of two or more articles."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        top = ", ".join(f"{name or '(unknown)'} ({n})" for name, n in list(self.sources.items())[:8])
        more = f" and {len(self.sources) - 8} more" if len(self.sources) > 8 else ""
        lines = [
            f"articles:        {self.articles}",
            f"stories:         {self.stories}" + self._grouped(),
            f"chunks:          {self.chunks}",
            f"sources:         {len(self.sources)}" + (f" — {top}{more}" if top else ""),
            f"embedding model: {self.embed_model or '(none yet)'}",
            f"store:           {self.location}",
            f"last sync:       {self.last_sync or 'never'}",
        ]
        for w in self.watched:
            lines.append(f"watching:        {w.get('source')} — last sync {w.get('last_sync') or 'never'}, "
                         f"{w.get('articles', 0)} articles" + (f", last error: {w['error']}" if w.get("error") else ""))
        return "\n".join(lines)

    def _grouped(self) -> str:
        if not self.grouped_stories:
            return ""
        stories = "1 story" if self.grouped_stories == 1 else f"{self.grouped_stories} stories"
        return f" — {self.grouped_articles} articles grouped into {stories}"


def collect_status(settings: IndexSettings, store: Store | None = None) -> Status:
    store = store or Store(settings)
    records = store.records()
    sources = Counter(r.source for r in records.values() if r.version)
    articles, chunks = store.counts()
    stories, grouped_articles, grouped_stories = story_counts(records.values())
    return Status(
        articles=sum(1 for r in records.values() if r.version),
        chunks=chunks,
        sources=dict(sources.most_common()),
        embed_model=store.embed_model,
        location=store.location,
        last_sync=store.last_sync,
        watched=watched_sources(settings, records.values()),
        stories=stories,
        grouped_articles=grouped_articles,
        grouped_stories=grouped_stories,
    )
