"""Generated answers through any OpenAI-compatible chat-completions server, with citations kept honest.

The prompt numbers the passages inside ``<passages>`` tags; the article text is escaped so an article cannot
close the tag and talk to the model as the system. The context is budgeted with tiktoken: the system prompt,
question and answer allowance come first, then passages in order of relevance until the window is full.

While the answer streams, every ``[n]`` marker is checked as soon as it is complete: markers naming no passage are
dropped, valid ones are renumbered 1..N in order of first use, so the text a user sees while it streams is already
the final one. Failures of the server (errors, timeouts, rate limits, broken streams) become one ``LLMFailure``
with a message fit for a user; the key never appears in it.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from assistant.answer import split_sentences
from assistant.settings import Settings
from assistant.terms import stems
from assistant.types import Citation, Passage
from index.tokens import count_tokens, encoding

log = logging.getLogger(__name__)

PROMPTS = "prompts"
"""The package holding the prompt templates: package data, so an installed wheel has them too."""
DEFAULT_MODEL = "gpt-4o-mini"
MESSAGE_OVERHEAD = 4
"""Tokens the chat format adds per message (role and separators)."""
SAFETY = 0.05
"""Share of the window kept free: tiktoken's cl100k is close to, not exactly, every model's tokenizer."""
REFUSAL = re.compile(r"^\W*the articles (?:don['’]t|do not) say\b", re.IGNORECASE)


class LLMFailure(RuntimeError):
    """The language model could not give an answer; the message says why, for the user."""


@cache
def prompt(name: str) -> str:
    return files(PROMPTS).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def model_name(settings: Settings) -> str:
    return settings.llm_model or DEFAULT_MODEL


# -- the prompt -----------------------------------------------------------------------------------------------------


@dataclass
class AnswerPrompt:
    messages: list[dict[str, str]]
    passages: list[Passage]
    """The passages in the prompt: passage ``[n]`` is ``passages[n - 1]``."""
    tokens: int
    max_tokens: int


def _attr(value: str | None) -> str:
    return html.escape(" ".join((value or "").split()), quote=True)


def passage_block(n: int, passage: Passage, text: str | None = None) -> str:
    return prompt("passage").strip().format(
        n=n, title=_attr(passage.title), source=_attr(passage.source), published=_attr(passage.published),
        text=html.escape((text if text is not None else passage.text).strip(), quote=False),
    )


def build_answer_prompt(question: str, passages: Sequence[Passage], settings: Settings,
                        today: date) -> AnswerPrompt:
    """The chat messages for ``question``: as many of ``passages`` (most relevant first) as the window holds."""
    system = prompt("answer_system").strip()
    user_template = prompt("answer_user").strip()
    window = settings.llm_context_tokens
    answer_tokens = min(settings.llm_answer_tokens, window // 4)
    fixed = (count_tokens(system) + count_tokens(user_template.format(today=today.isoformat(), passages="",
                                                                      question=question))
             + 3 * MESSAGE_OVERHEAD)
    budget = int(window * (1 - SAFETY)) - answer_tokens - fixed
    if budget <= 0:
        raise LLMFailure("the question is too long for the language model's context window "
                         f"({settings.llm_context_tokens} tokens)")
    chosen: list[tuple[Passage, str]] = []
    used = 0
    for passage in passages:
        block = passage_block(len(chosen) + 1, passage)
        cost = count_tokens(block) + 1
        if used + cost <= budget:
            chosen.append((passage, block))
            used += cost
        elif not chosen and budget - used > 64:
            # Not even the best passage fits whole: its beginning is better than nothing.
            enc = encoding()
            room = budget - used - count_tokens(passage_block(1, passage, "")) - 8
            text = enc.decode(enc.encode(passage.text, disallowed_special=())[:max(0, room)])
            block = passage_block(1, passage, text)
            chosen.append((passage, block))
            used += count_tokens(block) + 1
    user = user_template.format(today=today.isoformat(), passages="\n".join(b for _, b in chosen), question=question)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    tokens = count_tokens(system) + count_tokens(user) + 3 * MESSAGE_OVERHEAD
    return AnswerPrompt(messages, [p for p, _ in chosen], tokens, answer_tokens)


# -- markers --------------------------------------------------------------------------------------------------------

_MARKER_BODY = re.compile(r"\s*\d+(?:\s*[-–]\s*\d+)?(?:\s*,\s*\d+(?:\s*[-–]\s*\d+)?)*\s*")


@dataclass
class Markers:
    """Validates and renumbers ``[n]`` markers in streamed text, piece by piece."""

    n_passages: int
    order: list[int] = field(default_factory=list)
    """Passage numbers (1-based, as in the prompt) in order of first citation: citation ``i+1`` is ``order[i]``."""
    dropped: int = 0
    _held: str = ""
    _space: str = ""

    def feed(self, piece: str) -> str:
        out: list[str] = []
        for char in piece:
            if self._held:
                self._held += char
                if char == "]":
                    out.append(self._marker(self._held))
                    self._held = ""
                elif not (char.isdigit() or char in " ,-–") or len(self._held) > 24:
                    self._emit(out, self._held)
                    self._held = ""
            elif char == "[":
                self._held = char
            elif char.isspace():
                self._space += char
            else:
                self._emit(out, char)
        return "".join(out)

    def flush(self) -> str:
        out: list[str] = []
        if self._held:
            self._emit(out, self._held)
            self._held = ""
        return "".join(out)

    def _emit(self, out: list[str], text: str) -> None:
        if self._space and text[:1] not in ".,;:!?)":
            out.append(self._space if "\n" in self._space else " ")
        self._space = ""
        out.append(text)

    def _marker(self, marker: str) -> str:
        body = marker[1:-1]
        if not _MARKER_BODY.fullmatch(body):
            return self._space_then(marker)
        numbers: list[int] = []
        for part in body.split(","):
            bounds = [int(x) for x in re.split(r"[-–]", part.strip()) if x.strip()]
            if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 10:
                numbers.extend(range(bounds[0], bounds[1] + 1))
            else:
                numbers.extend(bounds[:1])
        valid = [k for k in dict.fromkeys(numbers) if 1 <= k <= self.n_passages]
        self.dropped += len(set(numbers)) - len(valid)
        if not valid:
            return ""  # the space before it stays held: dropped before punctuation, kept before a word
        text = ""
        for k in valid:
            if k not in self.order:
                self.order.append(k)
            text += f"[{self.order.index(k) + 1}]"
        return self._space_then(text)

    def _space_then(self, text: str) -> str:
        space, self._space = self._space, ""
        return (space if "\n" in space or not space else " ") + text


def tidy(text: str) -> str:
    """Whitespace left by dropped markers."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def cited(text: str, passages: Sequence[Passage], order: Sequence[int]) -> list[Citation]:
    """Citations for the markers used, with the passage sentences the cited answer sentences draw on."""
    answer_sentences = [text[a:b] for a, b in split_sentences(text)]
    out = []
    for i, k in enumerate(order, 1):
        passage = passages[k - 1]
        claims = [s for s in answer_sentences if f"[{i}]" in s]
        out.append(Citation.of(i, passage, _quotes(claims, passage)))
    return out


def _quotes(claims: list[str], passage: Passage) -> tuple[tuple[int, int], ...]:
    spans = split_sentences(passage.text)
    if not spans:
        return ()
    sentence_stems = [set(stems(passage.text[a:b])) for a, b in spans]
    found: set[tuple[int, int]] = set()
    for claim in claims:
        words = set(stems(re.sub(r"\[\d+\]", " ", claim)))
        if not words:
            continue
        overlap = [len(words & s) / (len(words) ** 0.5 * max(1, len(s)) ** 0.5) for s in sentence_stems]
        best = max(range(len(spans)), key=overlap.__getitem__)
        if overlap[best] >= 0.3:
            found.add(spans[best])
    return tuple(sorted(found))


def is_refusal(text: str) -> bool:
    return bool(REFUSAL.match(text))


# -- the client -----------------------------------------------------------------------------------------------------


class LLM:
    """One OpenAI-compatible endpoint, with the SDK's bounded retries (``Settings.llm_retries``)."""

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
        """Text pieces of the reply as they arrive."""
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
            why = f"did not respond within {self.settings.llm_timeout:g} s ({attempts} attempts)"
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


def condense_messages(question: str, history: Sequence[tuple[str, str]], today: date) -> list[dict[str, str]]:
    lines = []
    for asked, answered in history[-4:]:
        short = answered if len(answered) <= 600 else answered[:600] + " …"
        lines.append(f"User: {html.escape(asked, quote=False)}\nAssistant: {html.escape(short, quote=False)}")
    user = prompt("condense_user").strip().format(today=today.isoformat(), history="\n\n".join(lines),
                                                  question=html.escape(question, quote=False))
    return [{"role": "system", "content": prompt("condense_system").strip()}, {"role": "user", "content": user}]
