"""Disagreeing figures between cited articles: flagged with both citations, and never for figures about different
events, dates or places, or for the same number written another way."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from assistant.answer.conflicts import Conflict, conflict_text, find_conflicts
from assistant.answer.entities import warm_up
from assistant.types import Citation


def cite(n: int, article: str, text: str, published: str | None = "2024-01-02",
         quotes: tuple[tuple[int, int], ...] = ()) -> Citation:
    return Citation(n, article, f"Story {article}", "Wire", published, f"https://example.test/{article}", text, 0,
                    len(text), 0.8, quotes)


def values(conflict: Conflict) -> list[tuple[str, tuple[int, ...]]]:
    return list(conflict.values)


def test_two_articles_disagreeing_on_the_dead_are_flagged_with_both_citations() -> None:
    found = find_conflicts([
        cite(1, "a", "A Russian missile hit an apartment block in Kyiv early on Tuesday. 12 people were killed, the "
                     "city's mayor said."),
        cite(2, "b", "Rescuers searched the rubble of the Kyiv building overnight. The attack killed 15 people, "
                     "Ukraine's emergency service said.", published="2024-01-03"),
    ])
    assert len(found) == 1
    assert found[0].what == "killed"
    assert values(found[0]) == [("12", (1,)), ("15", (2,))]
    assert found[0].to_dict() == {"what": "killed", "values": [{"value": "12", "citations": [1]},
                                                               {"value": "15", "citations": [2]}]}


def test_killed_and_injured_in_the_same_sentences_are_both_compared() -> None:
    found = find_conflicts([
        cite(1, "a", "Twelve people were killed and 30 injured when the missile struck the market in Kharkiv."),
        cite(2, "b", "The strike on the Kharkiv market killed 15 people and wounded 28, regional governor Oleh "
                     "Syniehubov said."),
    ])
    assert [(c.what, values(c)) for c in found] == [
        ("killed", [("twelve", (1,)), ("15", (2,))]),
        ("injured", [("30", (1,)), ("28", (2,))]),
    ]


def test_missiles_fired_and_intercepted_are_kept_apart() -> None:
    fired = cite(1, "a", "Russia fired 40 missiles at Ukraine overnight, and air defences shot down 30 of them.")
    agreeing = cite(2, "b", "Ukraine's air force said it shot down 30 of 40 missiles launched overnight.")
    assert find_conflicts([fired, agreeing]) == []
    found = find_conflicts([fired, cite(2, "b", "Ukraine's air force said it intercepted 35 of the 40 missiles.")])
    assert [(c.what, values(c)) for c in found] == [("missiles intercepted", [("30", (1,)), ("35", (2,))])]


def test_drones_launched_are_flagged_and_mixed_weapon_counts_are_not_figures() -> None:
    found = find_conflicts([
        cite(1, "a", "Russia launched 90 drones at Ukraine overnight, the air force said."),
        cite(2, "b", "Moscow sent 95 Shahed drones against Ukraine overnight.", published="2024-01-02T07:30:00+00:00"),
    ])
    assert conflict_text(found) == "The articles disagree on how many drones were launched: 90 [1], 95 [2]."
    assert find_conflicts([  # 300 counts drones and missiles together
        cite(1, "a", "Iran fired more than 300 drones and missiles at Israel overnight."),
        cite(2, "b", "Iran launched 170 drones at Israel overnight."),
    ]) == []


def test_intercepted_drones_are_not_compared_with_intercepted_missiles() -> None:
    assert find_conflicts([
        cite(1, "a", "Air defences downed 25 drones over the capital on Friday night."),
        cite(2, "b", "The military said it intercepted 12 missiles over the capital on Friday night."),
    ]) == []


def test_a_qualified_figure_is_flagged_and_shown_as_written() -> None:
    found = find_conflicts([
        cite(1, "a", "At least 12 people were killed in the strike, police said."),
        cite(2, "b", "The strike killed 15 people, according to the regional administration."),
    ])
    assert values(found[0]) == [("at least 12", (1,)), ("15", (2,))]
    assert conflict_text(found) == "The articles disagree on how many were killed: at least 12 [1], 15 [2]."


@pytest.mark.parametrize(("first", "second"), [
    ("Twelve people were killed in the attack.", "The attack killed 12 people."),
    ("The earthquake killed 1,200 people.", "The earthquake killed 1200 people."),
    ("The quake killed 1.2 million people.", "The quake killed 1,200,000 people."),
    ("Congress approved $61bn in aid for Ukraine.", "Congress approved $61 billion in aid for Ukraine."),
    ("About 60 people died in the floods.", "The floods killed 61 people."),
])
def test_the_same_number_written_differently_is_not_a_conflict(first: str, second: str) -> None:
    assert find_conflicts([cite(1, "a", first), cite(2, "b", second)]) == []


def test_two_passages_of_one_article_are_one_voice() -> None:
    a1 = cite(1, "a", "The blast killed 12 people, officials said.")
    a2 = cite(2, "a", "Hospital staff later said 15 people were killed.")
    assert find_conflicts([a1, a2]) == []  # an article updating itself is not two articles disagreeing
    same = cite(2, "a", "Twelve people were killed in the blast.")
    found = find_conflicts([a1, same, cite(3, "b", "The blast killed 15 people, police said.")])
    assert values(found[0]) == [("12", (1, 2)), ("15", (3,))]
    assert conflict_text(found) == "The articles disagree on how many were killed: 12 [1][2], 15 [3]."


def test_articles_published_more_than_two_days_apart_are_not_compared() -> None:
    first = cite(1, "a", "The landslide killed 12 people.", published="2024-01-02")
    assert find_conflicts([first, cite(2, "b", "The landslide killed 15 people.", published="2024-01-06")]) == []
    assert len(find_conflicts([first, cite(2, "b", "The landslide killed 15 people.", published="2024-01-04")])) == 1
    assert len(find_conflicts([first, cite(2, "b", "The landslide killed 15 people.", published=None)])) == 1


@pytest.mark.parametrize(("first", "second"), [
    ("A drone attack on Monday killed 12 people.", "A drone attack on Wednesday killed 15 people."),
    ("On 3 January a strike killed 12 people.", "On 5 January a strike killed 15 people."),
    ("A strike on January 3 killed 12 people.", "A strike on Jan. 5 killed 15 people."),
    ("The 2022 floods killed 12 people.", "The 2023 floods killed 15 people."),
])
def test_figures_for_different_named_days_are_not_compared(first: str, second: str) -> None:
    assert find_conflicts([cite(1, "a", first), cite(2, "b", second)]) == []


def test_figures_for_different_places_are_not_compared() -> None:
    kyiv = cite(1, "a", "Twelve people were killed in Kyiv, the mayor said.")
    assert find_conflicts([kyiv, cite(2, "b", "Three people were killed in Kharkiv, the governor said.")]) == []
    assert find_conflicts([kyiv, cite(2, "b", "Russian missiles struck Kharkiv, killing 3 people.")]) == []
    # no "in/on/struck <Place>" here: spaCy's GPE finds Lviv
    assert find_conflicts([kyiv, cite(2, "b", "Lviv's mayor said three people were killed.")]) == []
    # the same place, or one side naming none, is still compared
    assert len(find_conflicts([kyiv, cite(2, "b", "Fifteen people were killed in Kyiv overnight.")])) == 1
    assert len(find_conflicts([kyiv, cite(2, "b", "Fifteen people were killed, officials said.")])) == 1


def test_a_passage_giving_two_values_gives_none() -> None:
    assert find_conflicts([
        cite(1, "a", "Twelve people were killed in Kyiv and 3 in Odesa as Russia struck across Ukraine."),
        cite(2, "b", "The overnight attacks killed 15 people, Ukrainian officials said."),
    ]) == []


def test_a_death_and_injuries_are_told_apart() -> None:
    found = find_conflicts([
        cite(1, "a", "Russia launched a barrage of ballistic missiles at Kyiv, resulting in the death of at least one "
                     "person and injuries to 12 others, city officials said."),
        cite(2, "b", "The missile attack on Kyiv killed two people and injured 12, the mayor said."),
    ])
    assert [(c.what, values(c)) for c in found] == [("killed", [("at least one", (1,)), ("two", (2,))])]


def test_a_running_total_is_not_compared_with_one_attack() -> None:
    assert find_conflicts([
        cite(1, "a", "Since the war began, more than 10,000 civilians have been killed."),
        cite(2, "b", "Tuesday's strike killed 15 civilians."),
    ]) == []


def test_amounts_are_flagged_by_what_they_are_for() -> None:
    found = find_conflicts([
        cite(1, "a", "The Senate approved $61 billion in military aid for Ukraine on Tuesday."),
        cite(2, "b", "Lawmakers passed a $60 billion aid package for Ukraine on Tuesday."),
    ])
    assert [(c.what, values(c)) for c in found] == [("aid", [("$61 billion", (1,)), ("$60 billion", (2,))])]
    assert conflict_text(found) == "The articles disagree on the amount of aid: $61 billion [1], $60 billion [2]."
    assert find_conflicts([  # other currencies are not compared
        cite(1, "a", "The EU pledged €50 billion in aid."), cite(2, "b", "The EU pledged $54 billion in aid.")]) == []


@pytest.mark.parametrize("text", [
    "Twelve percent of those killed were children.",
    "The strike at 10:30 killed a 12-year-old.",
    "The toll of the 2022 attack was never confirmed.",
    "It was the 3rd strike to kill civilians this month.",
    "Deaths rose by 12% compared with last year.",
    "Twelve days after the strike, the dead were buried.",
])
def test_percentages_years_ages_times_and_ordinals_are_not_figures(text: str) -> None:
    assert find_conflicts([cite(1, "a", text), cite(2, "b", "At least 15 people were killed.")]) == []


def test_only_the_sentences_the_answer_used_are_read() -> None:
    text = "Rescuers worked through the night in Dnipro. The blast killed 12 people, officials said."
    used_first = cite(1, "a", text, quotes=((0, 44),))
    other = cite(2, "b", "The blast in Dnipro killed 15 people.")
    assert find_conflicts([used_first, other]) == []
    assert len(find_conflicts([cite(1, "a", text, quotes=((45, len(text)),)), other])) == 1


def test_no_figures_no_conflicts() -> None:
    assert find_conflicts([cite(1, "a", "The president met the prime minister in Paris."),
                           cite(2, "b", "Talks on a ceasefire resumed in Geneva.")]) == []
    assert find_conflicts([]) == []
    assert conflict_text([]) == ""


def test_conflict_text_names_every_conflict_with_its_markers() -> None:
    text = conflict_text([Conflict("killed", (("12", (1,)), ("15", (2,)))),
                          Conflict("missiles fired", (("40", (1, 3)), ("45", (2,))))])
    assert text == ("The articles disagree on how many were killed: 12 [1], 15 [2]. "
                    "The articles disagree on how many missiles were fired: 40 [1][3], 45 [2].")


def timed(make: Callable[[int], list[Citation]], runs: int = 6) -> tuple[float, list[Conflict]]:
    """Median seconds of ``find_conflicts`` over ``runs`` answers."""
    took = []
    for run in range(runs):
        citations = make(run)
        started = time.perf_counter()
        found = find_conflicts(citations)
        took.append(time.perf_counter() - started)
    return sorted(took)[runs // 2], found


def test_eight_citations_take_a_few_milliseconds() -> None:
    warm_up()

    def answer(run: int) -> list[Citation]:  # four articles, two passages each; two of them disagree on the dead
        toll = ["killed {} people", "killed {} people", "killed 14 people", "left {} people dead"]
        return [cite(2 * i + 1, f"art{i}", f"Ukraine's emergency service said the Russian strike {toll[i]}, among "
                                           "them two children. Rescuers were still searching the rubble.".format(
                                               14 if i < 2 else 20 + run * 7), published="2024-01-02")
                for i in range(4)] + [
                cite(2 * i + 2, f"art{i}", "Officials said power had been restored to most homes by the evening, "
                                           "and schools would reopen on Monday.") for i in range(4)]

    def worst(run: int) -> list[Citation]:  # eight articles disagreeing on four figures, none placed by "in <X>"
        return [cite(n, f"art{n}", [f"The strike killed {10 * run + n} people and injured {30 + n}, the regional "
                                    "governor said on Sunday. Rescuers were still searching the rubble.",
                                    f"Ukraine's air force said Russia launched {40 + 10 * run + n} missiles and 20 "
                                    f"drones overnight. Air defences shot down {25 + n} of the missiles."][n % 2],
                     published="2024-01-02") for n in range(1, 9)]

    typical, found = timed(answer)
    assert [c.what for c in found] == ["killed"] and len(found[0].values) == 2
    slowest, found = timed(worst)
    assert {c.what for c in found} == {"killed", "injured", "missiles fired", "missiles intercepted"}
    print(f"find_conflicts on 8 citations: {typical * 1000:.1f} ms (one disagreement), "
          f"{slowest * 1000:.1f} ms (eight articles disagreeing, spaCy reading every figure sentence)")
    assert typical < 0.02 and slowest < 0.06
