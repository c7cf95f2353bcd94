"""Chroma → answers: hybrid retrieval, cited answers (extractive offline, or any OpenAI-compatible LLM), chat, CLI."""

from assistant.assistant import Assistant
from assistant.types import Answer, Citation, Delta, Filters, Passage, Turn

__all__ = ["Answer", "Assistant", "Citation", "Delta", "Filters", "Passage", "Turn"]
