"""One story, one report: syndicated copies collapsed in a ranking, the others named on the one kept.

Story groups are made at index time (``index.pipeline.stories``); here a ranking keeps, of each group, the passages
of one member: the earliest published among the members it holds, so a wire story re-published by three outlets
fills one place in the top results instead of three and is cited once. The other members are named on the kept
passages (``Passage.also_reported_by``). A question naming a source is filtered to that source before ranking, so
its own copy is the one kept.
"""

from __future__ import annotations

from dataclasses import replace

from index.store import Passage, Store, StoryMember


def one_per_story(passages: list[Passage]) -> list[Passage]:
    """``passages`` (best first) without those of a story's other members; order kept."""
    kept: dict[str, tuple[str, str]] = {}  # story -> (published or "~" for undated, article id)
    for p in passages:
        candidate = (p.published or "~", p.article_id)
        if p.story not in kept or candidate < kept[p.story]:
            kept[p.story] = candidate
    return [p for p in passages if kept.get(p.story, ("", p.article_id))[1] == p.article_id]


def with_other_reports(passages: list[Passage], store: Store) -> list[Passage]:
    """Each passage with the other members of its story, earliest first (one indexed read of the manifest)."""
    if not passages:
        return passages
    members = store.story_members([p.story for p in passages])
    return [replace(p, also_reported_by=others(members.get(p.story, []), p.article_id)) for p in passages]


def others(members: list[StoryMember], article_id: str) -> tuple[StoryMember, ...]:
    return tuple(m for m in members if m.article_id != article_id)
