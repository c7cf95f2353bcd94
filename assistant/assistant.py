"""The one API behind the CLI, the web chat, the OpenAI-compatible endpoint and the tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from assistant.retrieval import Retriever
from assistant.types import Answer, Delta, Filters, Passage, Turn
from index.embedding import Embedder, make_embedder
from index.settings import Settings, load_settings
from index.store import Store


class Assistant:
    def __init__(self, settings: Settings | None = None, *, home: str | Path | None = None,
                 store: Store | None = None, embedder: Embedder | None = None) -> None:
        if settings is None:
            settings = load_settings(**({"home": Path(home)} if home else {}))
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or make_embedder(settings)
        self.retriever = Retriever(settings, self.store, self.embedder)

    @property
    def mode(self) -> str:
        """``offline`` or ``llm:<model>``: shown by the UI's mode indicator."""
        raise NotImplementedError  # answers issue (#3)

    def search(self, query: str, k: int = 10, since: date | None = None, until: date | None = None,
               sources: Sequence[str] | None = None) -> list[Passage]:
        return self.retriever.search(query, k, Filters(since, until, tuple(sources or ())))

    def ask(self, question: str, history: Sequence[Turn] | None = None, since: date | None = None,
            until: date | None = None, sources: Sequence[str] | None = None, offline: bool = False) -> Answer:
        """The complete answer; same as draining ``ask_stream``."""
        answer = None
        for event in self.ask_stream(question, history, since, until, sources, offline):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: Sequence[Turn] | None = None, since: date | None = None,
                   until: date | None = None, sources: Sequence[str] | None = None,
                   offline: bool = False) -> Iterator[Delta | Answer]:
        """Text pieces as they are produced, then the complete ``Answer`` (always last, exactly once)."""
        raise NotImplementedError  # answers issue (#3)
