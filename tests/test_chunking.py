"""The chunker as a long-running process uses it: spans stay exact and nothing piles up between articles."""

from __future__ import annotations

from index.article import Article
from index.pipeline.chunking import Chunker


def article(i: int) -> Article:
    text = " ".join(f"Sentence {j} of bulletin {i} reports on the harbour and the ferry timetable." for j in range(60))
    return Article(article_id=f"a{i}", title=f"Bulletin {i}", text=text, origin=f"/news/{i}.txt")


def test_chunking_many_articles_keeps_no_per_article_state() -> None:
    """llama-index's callback manager used to keep one event id per split forever (a slow leak in `watch`/`serve`)."""
    chunker = Chunker(200, 40)
    manager = chunker._splitter.callback_manager
    for i in range(300):
        chunks = chunker.split(article(i))
        assert len(chunks) > 1 and all(article(i).text[c.start:c.end] == c.text for c in chunks)
    assert sum(len(events) for events in manager.trace_map.values()) <= 2
