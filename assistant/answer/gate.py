"""The LLM-mode gate: whether retrieval found anything relevant at all, so the model is called.

In LLM mode the model decides whether the passages answer; this gate only keeps off-topic questions ("How do I make
sourdough bread?") from costing a model call. It reads one measure, the best sentence-to-question similarity of
the retrieved passages (``Extract.closeness``). Calibrated with bench/gate_eval.py: at 0.40 it refuses 3.7% of the dev
questions whose gold passage was retrieved, 98.5% of tests/fixtures/offtopic_questions.txt asked of the sample
articles, and 77% of them asked of the broad dev collection, where some touch its stories (penicillin, climate,
vaccines). The other measures tried (the best article's share of the question's salient terms, the best keyword
score) separated worse on their own and added nothing combined.
"""

from __future__ import annotations

from assistant.answer.extractive import Extract

MIN_SIMILARITY = 0.40


def on_topic(found: Extract) -> bool:
    """Whether the passages come close enough to the question to ask the model (a timeline's verdict already
    says whether any article is about its subject)."""
    if found.closeness is None:
        return found.verdict.answerable
    return found.closeness >= MIN_SIMILARITY
