"""The chat messages sent to the model: the answer prompt (numbered passages within a token budget) and the
follow-up rewriting prompt. The templates are the text files of the ``prompts`` package.

The passages sit inside ``<passages>`` tags with their text escaped, so an article cannot close the tag and talk to
the model as the system. The context is budgeted with tiktoken: the system prompt, question and answer allowance
come first, then passages in order of relevance until the window is full.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from assistant.answer.refusal import REFUSAL
from assistant.llm.client import LLMFailure
from assistant.llm.length import answer_length
from assistant.settings import Settings
from assistant.types import Passage
from index.pipeline.tokens import count_tokens, encoding

PROMPTS = "prompts"
"""The package holding the prompt templates: package data, so an installed wheel has them too."""
MESSAGE_OVERHEAD = 4
"""Tokens the chat format adds per message (role and separators)."""
SAFETY = 0.05
"""Share of the window kept free: tiktoken's cl100k is close to, not exactly, every model's tokenizer."""
CONDENSE_TURNS = 4
"""Earlier turns shown to the rewriting prompt..."""
CONDENSE_ANSWER_CHARS = 600
"""...each answer cut to this many characters."""


@cache
def prompt(name: str) -> str:
    return files(PROMPTS).joinpath(f"{name}.txt").read_text(encoding="utf-8")


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


def build_answer_prompt(question: str, passages: Sequence[Passage], settings: Settings, today: date,
                        timeline: bool = False) -> AnswerPrompt:
    """The chat messages for ``question``: as many of ``passages`` (most relevant first) as the window holds.

    The answer's length is set by the question (``length.answer_length``).
    ``timeline``: the question asks how a story developed (``assistant.answer.is_timeline``), so the rules ask for
    one dated line per article or event in date order (prompts/answer_timeline.txt) instead of a brief answer; the
    passages' ``published`` attributes give the dates."""
    system = prompt("answer_system").strip().format(refusal=REFUSAL)
    if timeline:
        system += "\n\n" + prompt("answer_timeline").strip()
    user_template = prompt("answer_user").strip()
    window = settings.llm_context_tokens
    length = answer_length(question, min(settings.llm_answer_tokens, window // 4))
    answer_tokens = length.max_tokens
    fixed = (count_tokens(system) + count_tokens(user_template.format(today=today.isoformat(), passages="",
                                                                      question=question, length=length.instruction))
             + 3 * MESSAGE_OVERHEAD)
    budget = int(window * (1 - SAFETY)) - answer_tokens - fixed
    if budget <= 0:
        raise LLMFailure("the question is too long for the language model's context window "
                         f"({settings.llm_context_tokens} tokens)")
    chosen = _fit_passages(passages, budget)
    user = user_template.format(today=today.isoformat(), passages="\n".join(b for _, b in chosen), question=question,
                                length=length.instruction)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    tokens = count_tokens(system) + count_tokens(user) + 3 * MESSAGE_OVERHEAD
    return AnswerPrompt(messages, [p for p, _ in chosen], tokens, answer_tokens)


def _fit_passages(passages: Sequence[Passage], budget: int) -> list[tuple[Passage, str]]:
    """The passages (with their numbered blocks) that fit ``budget`` tokens, in order; a passage that does not fit
    is skipped and a later, shorter one may still go in."""
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
    return chosen


def condense_messages(question: str, history: Sequence[tuple[str, str]], today: date) -> list[dict[str, str]]:
    """The messages asking the model to rewrite a follow-up as a stand-alone question."""
    lines = []
    for asked, answered in history[-CONDENSE_TURNS:]:
        short = answered if len(answered) <= CONDENSE_ANSWER_CHARS else answered[:CONDENSE_ANSWER_CHARS] + " …"
        lines.append(f"User: {html.escape(asked, quote=False)}\nAssistant: {html.escape(short, quote=False)}")
    user = prompt("condense_user").strip().format(today=today.isoformat(), history="\n\n".join(lines),
                                                  question=html.escape(question, quote=False))
    return [{"role": "system", "content": prompt("condense_system").strip()}, {"role": "user", "content": user}]
