"""Chroma → answers: hybrid retrieval, cited answers (extractive offline, or any OpenAI-compatible LLM), chat, CLI."""
