"""The offline answer: sentences lifted verbatim from the retrieved passages, each followed by its citation.

Grounded by construction: the answer only ever contains text that is in a cited passage, and every sentence's span
inside its passage is kept (``Citation.quotes``) so a front end can highlight it. The steps, one module each:

- ``sentences``: the passages' sentences, each once, and their features; a sentence leaning on the one before
  brings it along (``Unit``).
- ``scoring``: keyword scores for all, MiniLM similarity for the best candidates; the weights.
- ``selection``: maximal marginal relevance plus a bonus for question terms not yet covered.
- ``kind``, ``reader`` and ``entities``: what the question asks for (a number, a time, a statement, a person, a
  place, an organisation) and where the candidates name it (spaCy's small English NER, the only spaCy importer).
- ``verdict``: whether the picked sentences answer at all (the offline refusal decision).
- ``gate``: in LLM mode, whether the passages come close enough to the question to call the model at all.
- ``compose``: the answer text in reading order, numbered citations.
- ``refusal``: what is said instead.
- ``conflicts``: figures the cited articles disagree on (a toll, a missile count, an amount), said with both
  citations; a "how many" answer brings in another article's differing figure.
- ``extractive``: the steps in order (``extract``).
- ``timeline``: "how has X developed?" answered as one dated line per relevant article, oldest first
  (``is_timeline``, ``timeline``), from the same scoring and verdict.
"""

from assistant.answer.extractive import Extract, extract
from assistant.answer.kind import answer_type
from assistant.answer.refusal import REFUSAL, describe, is_refusal, refusal_text
from assistant.answer.timeline import is_timeline, timeline, timeline_topic
from assistant.answer.verdict import Evidence, Thresholds, Verdict, decide

__all__ = ["REFUSAL", "Evidence", "Extract", "Thresholds", "Verdict", "answer_type", "decide", "describe", "extract",
           "is_refusal", "is_timeline", "refusal_text", "timeline", "timeline_topic"]
