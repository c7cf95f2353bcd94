"""One sync's bookkeeping: what each article offered becomes, and why the report says so.

An article is unchanged (its version is stored), a duplicate (its text is stored under another id, or it repeats an
article seen before with its id and text), or queued for the writer. An article whose id (explicit id, else url)
was seen before with other text replaces the earlier one, which is undone wherever it got to (listed, queued, held
or written), and both count as ``same-url``/``same-id``, not as duplicates: in a news-quiz export 4,516 of 5,017
lines shared a page url with another line. Lines of one file sharing an id are settled before any is offered.
Articles gone from a synced folder or file are removed at the end, and a duplicate of a removed one is stored after
all.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

from index.article import Article, Failure
from index.pipeline.chunking import Chunker
from index.pipeline.embedding import Embedder
from index.pipeline.report import ItemResult, SyncReport
from index.pipeline.stories import Stories
from index.pipeline.writer import Pending, Writer
from index.store import ArticleRecord, Store


class _Seen(NamedTuple):
    """An article id this run has seen: where from, and what became of it (what a later article with the same id
    has to undo). A tuple, not the article: a sync of 100k articles holds one per article."""

    origin: str
    line: int | None
    state: str
    """queued, added, updated, unchanged, duplicate (of another id's text) or failed."""
    text_hash: str = ""
    """Kept for duplicates only; the other states find it in the queue, the manifest or the store."""


class Run:
    """State of one sync: what was seen and became of it, what the report says; ``writer`` does the writing."""

    def __init__(self, store: Store, chunker: Chunker, embedder: Embedder, records: dict[str, ArticleRecord],
                 report: SyncReport, upcoming: set[str] | None = None) -> None:
        self.store = store
        self.chunker = chunker
        self.records = records
        self.report = report
        self.seen: dict[str, _Seen] = {}
        self.by_text = {r.text_hash: r.article_id for r in records.values() if r.text_hash and r.version}
        self.duplicates_of: dict[str, list[Article]] = {}
        self.stories = Stories(store)
        self.writer = Writer(store, embedder, self.stories, report, upcoming or set(), self._written)
        self.articles_seen = 0
        self.signature = f"{chunker.signature}|{embedder.model_id}"

    def offer_all(self, articles: list[Article]) -> None:
        """One file's articles. Lines sharing an id are settled first, while the whole file is at hand: only the
        last with each text is offered, so an earlier line is never written only to be replaced by a later one
        (which every re-sync would then repeat)."""
        kept: dict[str, Article] = {}
        for article in articles:
            earlier = kept.get(article.article_id)
            if earlier is None:
                kept[article.article_id] = article
                continue
            self.articles_seen += 1
            where = _name(earlier.origin, earlier.line, article)
            if earlier.text_hash == article.text_hash:
                self._duplicate(article, where)
            else:
                self._same_id(article, where)
                kept[article.article_id] = article
        for article in kept.values():
            self.offer(article)

    def offer(self, article: Article) -> None:
        self.articles_seen += 1
        report = self.report
        old = self.records.get(article.article_id)
        earlier = self.seen.get(article.article_id)
        if earlier is not None:  # from another file, feed or page earlier in this run
            queued = self.writer.find(article.article_id)
            if queued is not None:  # waiting to be written over what the store holds
                old = queued.old
            elif earlier.state in ("added", "updated"):  # already written: that is what the store holds now
                old = self.store.records_for([article.article_id]).get(article.article_id)
            if not self._replaces(article, earlier, old, queued):
                return
        version = self._version(article)
        if old and old.version == version and not old.pending:
            self.seen[article.article_id] = _Seen(article.origin, article.line, "unchanged")
            report.unchanged += 1
            return
        twin = self.by_text.get(article.text_hash)
        if twin and twin != article.article_id and old is None:
            self.seen[article.article_id] = _Seen(article.origin, article.line, "duplicate", article.text_hash)
            self.duplicates_of.setdefault(twin, []).append(article)
            report.duplicates += 1
            report.note(ItemResult(article.location, article.title, "duplicate", f"same text as {twin}"))
            return
        if old and old.text_hash != article.text_hash:
            self._release_text(article.article_id, old.text_hash)
        self.by_text[article.text_hash] = article.article_id
        self._queue(article, old)

    def _release_text(self, article_id: str, text_hash: str) -> None:
        """``article_id`` no longer holds the text ``text_hash``: an article with that text that came later is new,
        and one already taken for its duplicate is stored after all (else that text would be lost)."""
        if self.by_text.get(text_hash) == article_id:
            del self.by_text[text_hash]
        twins = self.duplicates_of.pop(article_id, [])
        if twins:
            first, rest = twins[0], twins[1:]
            self.report.duplicates -= 1
            self.report.unnote(first.location, "duplicate")
            self.by_text[first.text_hash] = first.article_id
            if rest:
                self.duplicates_of[first.article_id] = rest
            self._queue(first, None)

    def _replaces(self, article: Article, earlier: _Seen, stored: ArticleRecord | None,
                  queued: Pending | None) -> bool:
        """Whether ``article`` goes on to replace the earlier article with its id (undone here), or is a duplicate
        of it. ``stored``: the store's record of the id now; ``queued``: the earlier one waiting to be written."""
        if earlier.state == "failed":
            return True  # its failure is listed; this one gets its own chance
        where = _name(earlier.origin, earlier.line, article)
        if queued is not None:
            text_hash = queued.article.text_hash
        elif earlier.state == "duplicate":
            text_hash = earlier.text_hash
        else:  # unchanged, added or updated: the store holds the earlier one
            text_hash = stored.text_hash if stored else ""
        if text_hash == article.text_hash:
            self._duplicate(article, where)
            return False
        self._same_id(article, where)
        report = self.report
        if earlier.state in ("duplicate", "added", "updated"):
            location = f"{earlier.origin}:{earlier.line}" if earlier.line is not None else earlier.origin
            report.unnote(location, earlier.state)
        if earlier.state == "duplicate":
            for twins in self.duplicates_of.values():
                twins[:] = [a for a in twins if a.article_id != article.article_id]
            report.duplicates -= 1
            return True
        if queued is not None:
            self.writer.drop(queued)
        elif earlier.state in ("unchanged", "added", "updated"):
            setattr(report, earlier.state, getattr(report, earlier.state) - 1)
        self._release_text(article.article_id, text_hash)
        return True

    def _duplicate(self, article: Article, where: str) -> None:
        self.report.duplicates += 1
        kind = "url" if article.article_id.startswith("url:") else "id"
        self.report.note(ItemResult(article.location, article.title, "duplicate", f"same {kind} and text as {where}"))

    def _same_id(self, article: Article, where: str) -> None:
        """Report an article that replaces an earlier one with its id (url or explicit id) but other text."""
        by_url = article.article_id.startswith("url:")
        unit = _unit(article.origin) if article.line is not None else "article"
        hint = f"give each {unit} an `id` to keep both" if by_url else f"give each {unit} its own `id` to keep both"
        kind = "url" if by_url else "id"
        setattr(self.report, f"same_{kind}", getattr(self.report, f"same_{kind}") + 1)
        self.report.note(ItemResult(article.location, article.title, f"same-{kind}",
                                    f"same {kind} as {where}, different text: kept the later one; {hint}"))

    def _queue(self, article: Article, old: ArticleRecord | None) -> None:
        try:
            chunks = self.chunker.split(article)
        except ValueError as exc:
            self._fail(article, f"cannot be chunked: {exc}")
            return
        if not chunks:
            self._fail(article, "no text to index")
            return
        self.seen[article.article_id] = _Seen(article.origin, article.line, "queued")
        version = self._version(article)
        record = ArticleRecord(
            article_id=article.article_id, content_hash=article.content_hash, text_hash=article.text_hash,
            version=version, pending="", origin=article.origin, line=-1 if article.line is None else article.line,
            n_chunks=len(chunks), title=article.title, source=article.source, published=article.published or "",
            url=article.url or "",
        )
        first = self.records.get(article.article_id)
        status = "updated" if first and first.version else "added"
        self.writer.add(Pending(article, record, old if old and old.version else None, chunks, status), old)

    def _written(self, pending: Pending) -> None:
        self.seen[pending.article.article_id] = _Seen(pending.article.origin, pending.article.line, pending.status)

    def _version(self, article: Article) -> str:
        """Changes with the content and with anything that changes the passages (chunking, model)."""
        return hashlib.sha256(f"{article.content_hash}|{self.signature}".encode()).hexdigest()[:16]

    def _fail(self, article: Article, reason: str) -> None:
        self.seen[article.article_id] = _Seen(article.origin, article.line, "failed")
        self.report.fail(Failure(article.origin, reason, article.line), article.title)

    def done_with(self, origin: str) -> None:
        """All articles of the file at ``origin`` were offered (what waited for that file can be written)."""
        self.writer.done_with(origin)

    def finish(self, scopes: list[str], incomplete: set[str]) -> None:
        """Write what is left, then remove what is gone (``incomplete``: files not read whole, which keep theirs)."""
        self.writer.flush(final=True)
        self._remove_missing(scopes, incomplete)

    def _remove_missing(self, scopes: list[str], incomplete: set[str]) -> None:
        """Articles whose folder or file was synced but which were not seen again are gone."""
        if not scopes:
            return
        gone = [
            r for r in self.records.values()
            if r.article_id not in self.seen and r.origin not in incomplete and _in_scope(r.origin, scopes)
        ]
        promoted: list[Article] = []
        if gone:
            self.stories.remove([r.article_id for r in gone])
        for record in gone:
            self.report.removed += 1
            self.report.note(ItemResult(record.origin, record.title, "removed"))
            twins = self.duplicates_of.pop(record.article_id, [])
            if twins:
                promoted.append(twins[0])
                self.report.duplicates -= 1
        for article in promoted:  # a removed article's duplicate now stands on its own
            del self.by_text[article.text_hash]
            self._queue(article, None)
        self.writer.flush()


def _name(origin: str, line: int | None, later: Article) -> str:
    """How a report row on ``later`` names an earlier article: "line 12" in the same file, else where it is."""
    if line is None:
        return origin
    return f"{_unit(origin)} {line}" if origin == later.origin else f"{origin}:{line}"


def _unit(origin: str) -> str:
    """What a numbered article of a file is: a line of JSONL, an item (counted from 0) of a JSON list."""
    return "line" if origin.lower().endswith((".jsonl", ".ndjson")) else "item"


def _in_scope(origin: str, scopes: list[str]) -> bool:
    return any(origin == s or (s.endswith(os.sep) and origin.startswith(s)) for s in scopes)
