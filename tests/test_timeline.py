"""Timeline answers ("How has X developed?"): one dated, cited line per relevant article, oldest first; on a small
generated story indexed with the real Indexer into a real on-disk Chroma, searched by the real hybrid Retriever."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from assistant.answer import is_timeline, timeline, timeline_topic
from assistant.llm import Markers, build_answer_prompt, cited, tidy
from assistant.llm.messages import prompt
from assistant.retrieval import Retriever
from assistant.types import Filters, Passage
from index import Indexer

BRIDGE = {  # file name: (title, published, source, text) -- one story over six months, plus an undated feature
    "bridge-reopens.md": ("Marrow Creek bridge reopens to traffic", "2024-08-12", "Valley Courier",
                          "The Marrow Creek bridge reopened to traffic on Monday, six months after engineers closed it "
                          "over a cracked girder.\nMayor Lena Ostrow cut a ribbon at the east end of the bridge before "
                          "the first buses crossed.\nThe temporary ferry between the two banks of Marrow Creek will "
                          "stop running at the end of the month.\n"),
    "bridge-closed.md": ("Cracked girder shuts Marrow Creek bridge", "2024-02-05", "Valley Courier",
                         "Engineers closed the Marrow Creek bridge on Sunday after an inspection found a crack in its "
                         "main steel girder.\nDrivers face a detour of almost twenty kilometres through Hollin until "
                         "the crossing is made safe.\nThe county said the bridge, built in 1968, had passed its last "
                         "inspection two years ago.\n"),
    "bridge-funding.md": ("Council funds Marrow Creek bridge repair", "2024-03-18", "Hollin Herald",
                          "The county council voted to spend 4.2 million on repairing the Marrow Creek bridge.\n"
                          "Councillors rejected a plan to demolish the crossing and build a new one, which would have "
                          "cost three times as much.\nWork on replacing the cracked girder is due to start in May.\n"),
    "bridge-works.md": ("Repair crews lift new girder into Marrow Creek bridge", "2024-05-27", "Hollin Herald",
                        "Repair crews lifted a new steel girder into place on the Marrow Creek bridge on Saturday.\n"
                        "A crane brought from the coast worked through the night while the creek was closed to "
                        "boats.\nThe contractor said the bridge could reopen in August if the weather holds.\n"),
    "bridge-memories.md": ("Life without the Marrow Creek bridge", None, "Valley Courier",
                           "Shopkeepers in Hollin say the months without the Marrow Creek bridge cost them a third of "
                           "their trade.\nA baker who crossed the bridge every morning for thirty years took the ferry "
                           "instead and sold bread on board.\n"),
}
UNRELATED = {  # dated inside the story's months, so date order alone would interleave them
    "bakery-festival.md": ("Bread festival draws crowds to Lindenhall", "2024-04-14", "Lindenhall Post",
                           "The annual bread festival in Lindenhall drew more than 8,000 visitors on Sunday.\nBakers "
                           "from twelve villages competed for the golden loaf, won this year by a rye sourdough.\n"
                           "Organisers said next year's festival will add a market for local cheese.\n"),
    "football-final.md": ("Rovers win the regional cup final", "2024-06-02", "Sports Desk",
                          "Northgate Rovers beat Ashby Town 3-1 in the regional cup final on Saturday.\nStriker Tomas "
                          "Ferre scored twice in the second half as the Rovers came back from a goal down.\nIt is the "
                          "club's first trophy in eleven years.\n"),
    "chip-earnings.md": ("Chipmaker profits beat forecasts", "2024-07-20", "Business Wire Weekly",
                         "Semiconductor maker Quillon reported quarterly profits of 1.1 billion, beating analysts' "
                         "forecasts.\nDemand for its data centre chips doubled compared with the same quarter last "
                         "year.\nShares of Quillon rose nine percent in early trading.\n"),
}
LINE = re.compile(r"- (\d{1,2} [A-Z][a-z]{2} \d{4}|Undated) — (.+) \[(\d+)\]")

TIMELINE_QUESTIONS = [
    "How has the Marrow Creek bridge closure developed?",
    "Timeline of the Marrow Creek bridge",
    "How did the Marrow Creek bridge repairs unfold?",
    "What's the history of the Marrow Creek bridge?",
    "What happened since February?",
    "What has happened with the bridge since it closed?",
    "How did the crisis evolve over the summer?",
    "Give me a timeline of the harbour closure",
    "How has support for the bill changed since January?",
    "Tell me how the dispute has developed",
    "Explain how the strike unfolded.",
    "What changed since April?",
    "What are the key developments in the bridge repairs?",
    "Chronology of the Oreshnik attacks",
    "What's been happening with the harbour strike?",
    "Catch me up on the bridge saga",
    "How is the situation in Gaza developing?",
    "Walk me through the sequence of events at the port",
    "How have the talks progressed so far?",
    "How did the story play out?",
    "What has happened to the Marrow Creek bridge over the past months?",
    "The Kyiv strikes in chronological order, please",
]
ORDINARY_QUESTIONS = [  # asked elsewhere in tests/: they want a fact, not a timeline
    "How did the 2024 election go?",
    "What did Putin say in December 2024?",
    "What happened in Kyiv?",
    "What happened yesterday?",
    "What happened last week?",
    "What happened on 20 December 2024?",
    "What happened on January 2, 2024 in Kyiv?",
    "What happened on the last day of the summit?",
    "How many missiles hit Kyiv in December 2024?",
    "How many missiles did Russia fire at Kiev this week?",
    "When did the harbour in Valparaiso reopen?",
    "Why was the Valparaiso harbour closed?",
    "Who fired 100 missiles?",
    "What did Zelensky call Putin?",
    "How fast does the Oreshnik fly?",
    "Where did Russia first use the Oreshnik missile?",
    "What is the capital of Australia?",
    "Which team won the 1966 football World Cup final at Wembley?",
    "What may happen to the ceasefire?",
    "Any strikes yesterday?",
    "What is new today?",
    "Who is in the Hall of Fame class of 2020?",
    "Was Kyiv attacked by missiles?",
    "How many buildings had power restored after the missile strikes?",
    "Why did the lighthouse keepers in Port Avelin go on strike?",
    "What did Putin dare Ukraine's Western allies to?",
    "How many people died in the Oreshnik attack on Dnipro?",
    "What did Klitschko say about the Patriot batteries?",
    "How much silt did the Port Ellis harbour dredging remove?",
    "Who won the election?",
    # near misses: the cue words in another sense
    "How did Zelensky respond?",
    "What was the deadliest attack in the history of Kyiv?",
    "How many developed countries condemned the strike?",
    "How did Putin change his mind?",
    "What happened after the strike?",
]


def write_articles(folder: Path, articles: dict[str, tuple[str, str | None, str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, published, source, text) in articles.items():
        dated = f"published: {published}\n" if published else ""
        (folder / name).write_text(f"---\ntitle: \"{title}\"\n{dated}source: {source}\n---\n\n{text}")


@pytest.fixture
def retriever(indexer: Indexer, tmp_path: Path) -> Retriever:
    folder = tmp_path / "story"
    write_articles(folder, BRIDGE | UNRELATED)
    report = indexer.sync([folder])
    assert report.added == len(BRIDGE) + len(UNRELATED) and not report.failures
    return Retriever(indexer.settings, indexer.store, indexer.embedder)


def parse(text: str) -> list[tuple[date | None, str, int]]:
    """(date, shown text, citation number) per line; every line must have the timeline's shape."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    out = []
    for line in text.split("\n"):
        match = LINE.fullmatch(line)
        assert match, f"not a timeline line: {line!r}"
        day = None
        if match[1] != "Undated":
            d, m, y = match[1].split()
            day = date(int(y), months.index(m) + 1, int(d))
        out.append((day, match[2], int(match[3])))
    return out


@pytest.mark.parametrize("question", [
    "How has the Marrow Creek bridge closure developed?",
    "Timeline of the Marrow Creek bridge",
    "What's the history of the Marrow Creek bridge?",
])
def test_relevant_articles_one_line_each_in_date_order(retriever: Retriever, embedder, question: str) -> None:
    assert is_timeline(question)
    passages = retriever.search(timeline_topic(question), k=16)
    assert {p.title for p in passages} & {a[0] for a in UNRELATED.values()}, "the unrelated articles were retrieved"
    found = timeline(question, passages, embedder)
    assert found is not None and found.verdict.answerable
    assert "".join(found.pieces) == found.text and len(found.pieces) == len(found.text.split("\n"))

    lines = parse(found.text)
    titles = [found.citations[n - 1].title for _, _, n in lines]
    assert sorted(titles) == sorted(a[0] for a in BRIDGE.values()), "one line per story article, no other"
    assert len(set(c.article_id for c in found.citations)) == len(lines) == len(found.citations)

    dated = [day for day, _, _ in lines if day is not None]
    assert dated == sorted(dated) and len(dated) == 4
    assert lines[-1][0] is None and titles[-1] == "Life without the Marrow Creek bridge", "undated last"
    assert [n for _, _, n in lines] == list(range(1, len(lines) + 1)), "numbered 1..N in order of first use"

    flat = lambda s: " ".join(s.split())  # noqa: E731
    for (day, shown, n), citation in zip(lines, found.citations):
        assert citation.n == n
        assert day == (date.fromisoformat(citation.published) if citation.published else None)
        assert citation.quotes, f"[{n}] quotes nothing"
        passage = next(p for p in passages if p.article_id == citation.article_id and p.start == citation.start)
        assert passage.text == citation.text
        quoted = [passage.text[a:b] for a, b in citation.quotes]
        assert all(0 <= a < b <= len(passage.text) for a, b in citation.quotes)
        assert flat(shown) == flat(" ".join(quoted)), "the line shows exactly the quoted sentence(s)"


def test_no_relevant_article_gives_none_and_one_gives_one_line(retriever: Retriever, embedder) -> None:
    question = "How has the Oreshnik missile programme developed?"
    assert timeline(question, retriever.search(timeline_topic(question), k=16), embedder) is None
    assert timeline(question, [], embedder) is None

    question = "Timeline of the Lindenhall bread festival"
    found = timeline(question, retriever.search(timeline_topic(question), k=16), embedder)
    assert found is not None
    [(day, shown, n)] = parse(found.text)
    assert day == date(2024, 4, 14) and "bread festival" in shown and n == 1


def test_question_without_subject_lists_the_filtered_range(retriever: Retriever, embedder) -> None:
    """ "What happened since March?" reaches the answer as "What happened?" plus a date filter: every article of the
    range, by its lead sentence."""
    passages = retriever.search("What happened?", k=16, filters=Filters(since=date(2024, 3, 1),
                                                                         until=date(2024, 6, 30)))
    found = timeline("What happened?", passages, embedder, dates_filtered=True)
    assert found is not None
    lines = parse(found.text)
    assert [day for day, _, _ in lines] == [date(2024, 3, 18), date(2024, 4, 14), date(2024, 5, 27),
                                            date(2024, 6, 2)]
    assert lines[0][1].startswith("The county council voted") and lines[3][1].startswith("Northgate Rovers beat")
    assert timeline("What happened?", passages, embedder) is None, "no subject and no filter: the normal answer"


@pytest.mark.parametrize("question", TIMELINE_QUESTIONS)
def test_timeline_questions_are_recognised(question: str) -> None:
    assert is_timeline(question)


@pytest.mark.parametrize("question", ORDINARY_QUESTIONS)
def test_ordinary_questions_are_not_timelines(question: str) -> None:
    assert not is_timeline(question)


@pytest.mark.parametrize(("question", "topic"), [
    ("How has the Marrow Creek bridge closure developed?", "Marrow Creek bridge closure"),
    ("Timeline of the Kyiv strikes", "Kyiv strikes"),
    ("What's the history of the dispute?", "dispute"),
    ("Tell me how the dispute has developed", "dispute"),
    ("What has happened to the Marrow Creek bridge over the past months?", "Marrow Creek bridge"),
    ("What happened since March?", "March"),
    ("What happened?", ""),
])
def test_topic_drops_the_words_asking_for_a_timeline(question: str, topic: str) -> None:
    assert timeline_topic(question) == topic


def passage(n: int, title: str, published: str | None, text: str) -> Passage:
    return Passage(f"k{n}:v:0", f"article-{n}", title, "Valley Courier", published, None, text, 0, len(text), 1.0)


PASSAGES = [
    passage(1, "Marrow Creek bridge reopens", "2024-08-12", BRIDGE["bridge-reopens.md"][3]),
    passage(2, "Cracked girder shuts Marrow Creek bridge", "2024-02-05", BRIDGE["bridge-closed.md"][3]),
    passage(3, "Life without the Marrow Creek bridge", None, BRIDGE["bridge-memories.md"][3]),
]


def test_prompt_asks_for_a_dated_line_per_article_only_when_told(settings) -> None:
    today = date(2024, 9, 1)
    question = "How has the Marrow Creek bridge closure developed?"
    plain = build_answer_prompt(question, PASSAGES, settings, today)
    dated = build_answer_prompt(question, PASSAGES, settings, today, timeline=True)
    instruction = prompt("answer_timeline").strip()
    assert "publication date" in instruction and "one line per article or event" in instruction.lower()
    assert instruction in dated.messages[0]["content"]
    assert instruction not in plain.messages[0]["content"] and "timeline" not in plain.messages[0]["content"]
    assert dated.messages[1:] == plain.messages[1:] and dated.passages == plain.passages
    assert dated.tokens > plain.tokens, "the instruction is counted against the window"
    user = dated.messages[1]["content"]
    assert 'published="2024-08-12"' in user and 'published="2024-02-05"' in user and 'published=""' in user


def test_a_generated_timeline_keeps_its_lines_and_quotes() -> None:
    """A model's timeline goes through the same marker check as any reply: lines survive, each cites its passage."""
    reply = ["- 5 Feb 2024 — Engineers closed the Marrow Creek bridge after finding a crack in its main ",
             "steel girder [2]\n- 12 Aug 2024 — The bridge reopened to traffic [1][7]\n",
             "- Undated — Shopkeepers in Hollin lost a third of their trade [3]"]
    markers = Markers(len(PASSAGES))
    text = tidy("".join(markers.feed(piece) for piece in reply) + markers.flush())
    lines = parse(text)
    assert [n for _, _, n in lines] == [1, 2, 3] and markers.dropped == 1
    citations = cited(text, PASSAGES, markers.order)
    assert [c.title for c in citations] == [PASSAGES[1].title, PASSAGES[0].title, PASSAGES[2].title]
    for c in citations:
        assert c.quotes and all(c.text[a:b] in c.text for a, b in c.quotes)
    assert citations[0].text[slice(*citations[0].quotes[0])].startswith("Engineers closed the Marrow Creek bridge")
