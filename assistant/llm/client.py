"""One OpenAI-compatible chat-completions endpoint: the only module that imports ``openai``.

Failures of the server (errors, timeouts, rate limits, broken streams) become one ``LLMFailure`` with a message fit
for a user; the key never appears in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from assistant.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"


class LLMFailure(RuntimeError):
    """The language model could not give an answer; the message says why, for the user."""


def model_name(settings: Settings) -> str:
    return settings.llm_model or DEFAULT_MODEL


class LLM:
    """One OpenAI-compatible endpoint, with the SDK's bounded retries (``Settings.llm_retries``).

    ``Settings.llm_timeout`` bounds every wait for data, the first token's included: llama.cpp's server sends its
    response headers only with the first token (measured 134.8 s for a queued request), so on a CPU the timeout must
    cover the whole prompt's processing. Each retry redoes the whole prompt.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = model_name(settings)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            key = self.settings.openai_api_key.get_secret_value() if self.settings.openai_api_key else "not-needed"
            self._client = OpenAI(api_key=key, base_url=self.settings.openai_base_url or None,
                                  timeout=self.settings.llm_timeout, max_retries=max(0, self.settings.llm_retries))
        return self._client

    @property
    def endpoint(self) -> str:
        """Where requests go, without credentials: for messages."""
        url = self.settings.openai_base_url
        if not url:
            return "OpenAI"
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """Text pieces of the reply as they arrive.

        Closing this generator (a reader's Stop) closes the HTTP response at once, so the server sees the client go
        and can stop generating; left to the garbage collector, the connection could stay open."""
        response = None
        try:
            response = self.client.chat.completions.create(model=self.model, messages=messages, stream=True,
                                                           max_tokens=max_tokens, temperature=0)
            finished = False
            for chunk in response:
                for choice in chunk.choices or ():
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        yield piece
                    finished = finished or bool(choice.finish_reason)
            if not finished:  # the connection closed mid-answer: what arrived is not the whole answer
                raise LLMFailure(f"{self._where()[0].upper()}{self._where()[1:]} stopped sending mid-answer.")
        except LLMFailure:
            raise
        except Exception as exc:  # the SDK, httpx and the stream parser raise many kinds; all mean the same here
            raise LLMFailure(self.describe(exc)) from None
        finally:
            if response is not None:
                response.close()

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        try:
            response = self.client.chat.completions.create(model=self.model, messages=messages,
                                                           max_tokens=max_tokens, temperature=0)
            return (response.choices[0].message.content or "") if response.choices else ""
        except Exception as exc:
            raise LLMFailure(self.describe(exc)) from None

    def _where(self) -> str:
        return f"the language model ({self.model} at {self.endpoint})"

    def describe(self, exc: Exception) -> str:
        """A user-facing reason; the exception's own text may echo request details, so it is not used."""
        import openai

        attempts = 1 + max(0, self.settings.llm_retries)
        where = self._where()
        if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
            why = (f"did not respond within {self.settings.llm_timeout:g} s ({attempts} attempts; a model on a CPU "
                   "may need a longer NEWSDESK_LLM_TIMEOUT)")
        elif isinstance(exc, openai.RateLimitError):
            why = f"is rate-limiting requests (HTTP 429, {attempts} attempts)"
        elif isinstance(exc, openai.AuthenticationError):
            why = "rejected the API key (HTTP 401): check OPENAI_API_KEY"
        elif isinstance(exc, openai.NotFoundError):
            why = "does not know this model or path (HTTP 404): check NEWSDESK_LLM_MODEL and OPENAI_BASE_URL"
        elif isinstance(exc, openai.APIStatusError):
            why = f"failed with HTTP {exc.status_code}" + (f" ({attempts} attempts)" if exc.status_code >= 500 else "")
        elif isinstance(exc, openai.APIConnectionError):
            why = f"could not be reached ({attempts} attempts)"
        else:
            why = f"sent a malformed response ({type(exc).__name__})"
        log.info("LLM request failed: %s %s", where, why)
        return f"{where[0].upper()}{where[1:]} {why}."
