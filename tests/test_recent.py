"""What the answer path remembers between questions: the vectors and the entities of sentences it has read.

A conversation's questions read mostly the same passages; re-embedding their sentences was most of an offline
answer's time (``bench/answer_latency.py``).
"""

from __future__ import annotations

import numpy as np
from conftest import CountingEmbedder

from assistant import Assistant
from assistant.answer.entities import entities
from index.pipeline.embedding import OnnxMiniLM, Recent


def test_a_question_asked_again_embeds_nothing_and_answers_the_same(settings, indexer, news_dir,
                                                                    embedder: CountingEmbedder) -> None:
    indexer.sync([news_dir])
    assistant = Assistant(settings, store=indexer.store, embedder=embedder)
    embedder.reset()
    first = assistant.ask("How many missiles were fired in the January attack?")
    read = list(embedder.texts)
    assert read, "the first answer embedded its question and sentences"
    embedder.reset()
    again = assistant.ask("How many missiles were fired in the January attack?")
    assert embedder.texts == []
    assert (again.text, [(c.article_id, c.start) for c in again.citations]) == \
        (first.text, [(c.article_id, c.start) for c in first.citations])
    assert "100 missiles" in again.text

    embedder.reset()
    other = assistant.ask("How many people were injured in the January attack?")
    assert "130" in other.text
    assert embedder.texts, "a new question is embedded"
    assert not set(embedder.texts) & set(read), "sentences read for the first answer are not embedded again"


def test_remembered_vectors_are_the_models_and_the_oldest_go_first(embedder: CountingEmbedder) -> None:
    recent = Recent(embedder, size=2)
    texts = ["Kyiv was struck at dawn.", "Five missiles were shot down.", "Heating failed in one district."]
    direct = embedder.inner.embed(texts)
    assert np.allclose(recent.embed(texts[:2]), direct[:2], atol=1e-5)
    embedder.reset()
    got = recent.embed([texts[1], texts[2], texts[1]])  # the first text is pushed out by the third
    assert embedder.texts == [texts[2]]
    assert np.allclose(got, direct[[1, 2, 1]], atol=1e-5)
    embedder.reset()
    recent.embed([texts[0]])
    assert embedder.texts == [texts[0]]
    assert Recent.around(recent) is recent
    assert (recent.model_id, recent.dim) == (embedder.model_id, embedder.dim)


def test_remembered_entities_are_not_changed_by_a_caller() -> None:
    text = "Vitali Klitschko said heating failed in Kyiv on Friday."
    first = entities([text])[0]
    labels = {e.text: e.label for e in first}
    assert labels.get("Vitali Klitschko") == "PERSON" and labels.get("Kyiv") == "GPE"
    first.clear()
    assert entities([text, text]) == [entities([text])[0]] * 2
    assert {e.text for e in entities([text])[0]} == set(labels)


def test_warming_up_loads_a_local_model_and_calls_no_other(embedder: CountingEmbedder) -> None:
    local = OnnxMiniLM()
    Recent(local).warm_up()
    assert local._session is not None, "the first question would load the model"
    Recent(embedder).warm_up()  # a model without warm_up, as a remote one: nothing is sent to it
    assert embedder.texts == []
