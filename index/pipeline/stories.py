"""Story groups: articles whose texts are near-copies (``index.pipeline.fingerprints``) share a story id.

A story is a connected group of articles linked by ``same_story`` and published within ``STORY_DAYS`` of each
other: an article joins the story of any article it nearly copies, and an article linking two stories merges them.
Its id is the article key of its earliest published member (undated last, then by id), which is also its
representative, so the grouping is a function of the stored articles alone: the same files indexed in any order,
incrementally or at once, give the same stories.

Incremental, never re-reading the collection:

- **arrivals** (new or edited articles, a writer's batch): their nearest fingerprints (one vector query) are the
  candidates; those verified (``same_story``, against committed versions only) name the stories touched. Those
  stories' members (one indexed read) and the arrivals are regrouped among themselves: every pair verified, groups
  are the connected parts, each labelled by its earliest member. An edited article's old story is regrouped too,
  so an edit that breaks the link splits it.
- **removals**: the removed articles' stories are regrouped among the members left, so a story whose earliest
  member goes is relabelled by the next earliest, and one whose bridge goes splits.

A story whose members stay stays closed: an article outside it has no verified link into it, else the two would
be one story. So regrouping the stories touched is the same as regrouping everything.

Crash safety (see ``index.store.store``): an arrival's label is written with its commit record. When a change
relabels more than that (other members, or arrivals grouped with each other), the stories and articles involved
are announced first (``Store.begin_regroup``) and the announcement cleared after; ``resume`` regroups what a killed
run announced, after ``Store.recover`` has rolled its uncommitted versions back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from index.pipeline.fingerprints import SCHEME, STORY_DAYS, fingerprint, groupable, same_story, story_pairs
from index.store import ArticleRecord, Fingerprint, Store, article_key, publication_order

log = logging.getLogger(__name__)

NEIGHBOURS = 8
"""Candidates per arrival: its nearest fingerprints. One verified link is enough to join a story."""
BACKFILL_BATCH = 100


@dataclass(frozen=True)
class Arrival:
    record: ArticleRecord
    """The record to be committed (its ``story`` is what ``place`` decides)."""
    fingerprint: Fingerprint
    stored: bool
    """The article has a stored record already, whose story an edit may leave."""


@dataclass
class Placement:
    """What ``place`` decided for a batch of arrivals."""

    labels: dict[str, str]
    """Story of each arrival."""
    relabels: dict[str, str] = field(default_factory=dict)
    """Stored articles moving to another story."""
    stories: set[str] = field(default_factory=set)
    """Every story involved, old and new: what a killed run would have to regroup."""
    announce: bool = False
    """More than each arrival's own record changes: announce it first (see the module docstring)."""


class Stories:
    """Keeps the store's story groups up to date as a sync writes and removes articles."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def fingerprint(text: str) -> Fingerprint:
        return fingerprint(text)

    # -- a sync's start ----------------------------------------------------------------------------------------

    def prepare(self, records: dict[str, ArticleRecord]) -> bool:
        """Before a sync: finish a killed run's regrouping, start over if the fingerprint scheme changed, and group
        committed articles stored before grouping existed. ``records``: the manifest as just read. True when it
        relabelled anything (the sync then counts as a change for readers)."""
        resumed = self.resume()
        stored = self.store.fingerprint_scheme
        reset = stored is not None and stored != SCHEME
        if reset:
            log.warning("story fingerprints changed (%s -> %s): grouping every article again", stored, SCHEME)
            self.store.reset_fingerprints(SCHEME)
        elif stored is None:
            self.store.set_fingerprint_scheme(SCHEME)
        ungrouped = [r for r in records.values() if r.version and (reset or not r.story)]
        if ungrouped:
            log.info("grouping %d article(s) into stories from their stored passages", len(ungrouped))
            for at in range(0, len(ungrouped), BACKFILL_BATCH):
                self._backfill(ungrouped[at:at + BACKFILL_BATCH])
        return resumed or reset or bool(ungrouped)

    def _backfill(self, records: list[ArticleRecord]) -> None:
        texts = self.store.article_texts([r.article_id for r in records])
        prints = {r.article_id: self.fingerprint(texts.get(r.article_id, "")) for r in records}
        placement = self.place([Arrival(r, prints[r.article_id], stored=False) for r in records])
        self.store.put_fingerprints([(r.article_id, r.version, prints[r.article_id]) for r in records])
        with self.applying(placement):
            self.store.relabel({**placement.labels, **placement.relabels})

    def resume(self) -> bool:
        """Regroup the stories a killed run announced (its uncommitted versions already rolled back); True if any."""
        pending = self.store.regrouping
        if pending is None:
            return False
        stories, article_ids = pending
        members = {r.article_id: r for r in self.store.story_records(stories)}
        members.update((rid, r) for rid, r in self.store.records_for(article_ids).items() if r.version)
        log.warning("finishing the story regrouping of %d article(s) an interrupted run left", len(members))
        prints = self.store.fingerprints([(r.article_id, r.version) for r in members.values()])
        labels = regroup(list(members.values()), prints)
        self.store.relabel({rid: label for rid, label in labels.items() if members[rid].story != label})
        self.store.end_regroup()
        return True

    # -- arrivals and removals ---------------------------------------------------------------------------------

    def place(self, arrivals: Sequence[Arrival]) -> Placement:
        """Decide the stories of a batch of arrivals (written, not yet committed) and what else moves."""
        by_id = {a.record.article_id: a for a in arrivals}
        touched = self._linked_stories(arrivals, by_id)
        stored = [rid for rid, a in by_id.items() if a.stored]
        if stored:  # an edit may leave its story: regroup that too (read now: earlier batches may have moved it)
            touched |= {r.story for r in self.store.records_for(stored).values() if r.story}
        members = [r for r in self.store.story_records(touched) if r.article_id not in by_id] if touched else []
        groupable_arrivals = [a for a in arrivals if groupable(a.fingerprint)]
        if not members and not story_pairs([a.fingerprint for a in groupable_arrivals]):
            return Placement({rid: article_key(rid) for rid in by_id})  # each alone, as before (or new)
        prints = self.store.fingerprints([(r.article_id, r.version) for r in members])
        prints.update((rid, a.fingerprint) for rid, a in by_id.items())
        labels = regroup([*members, *(a.record for a in arrivals)], prints)
        relabels = {r.article_id: labels[r.article_id] for r in members if labels[r.article_id] != r.story}
        mine = {rid: labels[rid] for rid in by_id}
        together = any(n > 1 for n in Counter(mine.values()).values())  # committed by separate records
        return Placement(labels=mine, relabels=relabels, stories=touched | set(labels.values()),
                         announce=together or bool(relabels))

    def _linked_stories(self, arrivals: Sequence[Arrival], by_id: dict[str, Arrival]) -> set[str]:
        """Stories of the committed articles the arrivals nearly copy."""
        asking = [a for a in arrivals if groupable(a.fingerprint)]
        found = self.store.similar([a.fingerprint.vector for a in asking], NEIGHBOURS)
        linked: dict[str, tuple[str, list[str]]] = {}  # article id -> the version that matched, arrivals' dates
        for arrival, candidates in zip(asking, found):
            for candidate in candidates:
                if candidate.article_id not in by_id and same_story(arrival.fingerprint, candidate.fingerprint):
                    linked.setdefault(candidate.article_id, (candidate.version, []))[1].append(arrival.record.published)
        if not linked:
            return set()
        records = self.store.records_for(list(linked))
        return {r.story or article_key(rid) for rid, r in records.items()
                if r.version and r.version == linked[rid][0] and any(close(r.published, d) for d in linked[rid][1])}

    @contextmanager
    def applying(self, placement: Placement) -> Iterator[None]:
        """Around the writes that carry out a placement (commit records, relabels): announced when it needs to be."""
        if not placement.announce:
            yield
            return
        self.store.begin_regroup(placement.stories, [*placement.labels, *placement.relabels])
        yield
        self.store.end_regroup()

    def remove(self, article_ids: Sequence[str]) -> None:
        """Delete articles (passages, fingerprints, records); the stories they leave regroup among the rest."""
        if not article_ids:
            return
        gone = set(article_ids)
        stories = {r.story for r in self.store.records_for(article_ids).values() if r.story}
        left = [r for r in self.store.story_records(stories) if r.article_id not in gone] if stories else []
        if left:
            self.store.begin_regroup(stories, [r.article_id for r in left])
        for article_id in article_ids:
            self.store.delete_article(article_id)
        if left:
            prints = self.store.fingerprints([(r.article_id, r.version) for r in left])
            labels = regroup(left, prints)
            self.store.relabel({r.article_id: labels[r.article_id] for r in left if labels[r.article_id] != r.story})
            self.store.end_regroup()


def regroup(records: Sequence[ArticleRecord], prints: dict[str, Fingerprint]) -> dict[str, str]:
    """Story id of each of ``records``, grouped among themselves: connected parts of the ``same_story`` links, each
    labelled by its earliest member. A record without a fingerprint stands alone."""
    ordered = sorted(records, key=publication_order)
    with_print = [r for r in ordered if r.article_id in prints]
    parent = list(range(len(with_print)))

    def root(at: int) -> int:
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    for a, b in story_pairs([prints[r.article_id] for r in with_print]):
        if not close(with_print[a].published, with_print[b].published):
            continue
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)  # the root stays the earliest member (lowest index in publication order)
    labels = {r.article_id: article_key(with_print[root(at)].article_id) for at, r in enumerate(with_print)}
    labels.update((r.article_id, article_key(r.article_id)) for r in ordered if r.article_id not in prints)
    return labels


def close(a: str, b: str) -> bool:
    """Published within ``STORY_DAYS`` of each other, or either undated."""
    try:
        return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days) <= STORY_DAYS
    except ValueError:  # empty or not a date
        return True


def story_counts(records: Iterable[ArticleRecord]) -> tuple[int, int, int]:
    """Committed articles' stories: (stories, articles in stories of two or more, such stories)."""
    sizes: dict[str, int] = {}
    for r in records:
        if r.version:
            key = r.story or article_key(r.article_id)
            sizes[key] = sizes.get(key, 0) + 1
    grouped = [n for n in sizes.values() if n > 1]
    return len(sizes), sum(grouped), len(grouped)
