"""The web chat's saved conversations: what the browser keeps (``gr.BrowserState``) and the list's operations.

The conversations live in the reader's browser (localStorage, encrypted by Gradio with ``browser_secret``); the
server holds them only for the open page's session and writes none to disk. The stored form is plain JSON: each
turn is the question and the answer as ``Answer.to_json`` gives it (citations with passages and quoted spans,
also_reported_by, conflicts, mode, notice) plus the reader's thumb, so a reload rebuilds the chat, its sources panel
and its vote marks.

Stored data is untrusted: anyone can edit localStorage. ``load`` checks every field's type and range and drops a
turn (or a conversation) that does not parse; what is kept is rendered through ``render`` like a fresh answer.

Limits: at most ``MAX_CONVERSATIONS`` (50) conversations and about ``MAX_STORE_CHARS`` of JSON; past either, the
least recently used conversations are dropped (never the one just saved). Chromium lets an origin keep about 5.2
million characters in localStorage (measured: a 5,242,308-character value fits, 1,000 more do not); Gradio writes
nothing past that (it only logs to the console), so the cap must hold first. Sizes are counted as ASCII-escaped JSON,
never fewer than the UTF-8 bytes Gradio encrypts; base64 makes those 4/3 as many characters: 2,000,000 counted
become at most about 2.7 million stored, half the quota.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from json import dumps
from pathlib import Path
from typing import Any

from assistant.types import Answer

STORE_VERSION = 1
MAX_CONVERSATIONS = 50
"""Conversations kept; the least recently used beyond this are dropped when one is saved."""
MAX_STORE_CHARS = 2_000_000
"""JSON characters kept in the browser (see the module docstring for why this bound)."""
MAX_TITLE_CHARS = 80
SECRET_FILE = "browser-state.key"
"""In the data home: the key Gradio encrypts the browser's copy with; created once, owner-only (0600)."""
VOTES = ("Like", "Dislike")
"""The Chatbot's ``feedback_value`` words for a pressed thumb."""

_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass
class Conversation:
    id: str
    title: str
    updated: float
    """Seconds since the epoch of the last question or rename: the list shows the most recent first."""
    turns: list[tuple[str, Answer]]
    votes: dict[int, str] = field(default_factory=dict)
    """Turn index (0-based) → "Like" / "Dislike", as the Chatbot shows them."""
    size: int = 0
    """Characters of this conversation's JSON, for ``MAX_STORE_CHARS``."""


@dataclass
class Book:
    """All saved conversations, most recently used first, and the id of the open one ("" for a new, unsaved one)."""

    conversations: list[Conversation] = field(default_factory=list)
    open: str = ""


# -- the browser's copy ----------------------------------------------------------------------------------------------


def browser_secret(home: Path) -> str:
    """The key for Gradio's encryption of the browser's copy, kept in ``home`` so a restarted server (which would
    otherwise pick a new random key) still reads what the browser holds.

    Gradio's default port 7860 is every Gradio app's: another app served on the same origin later shares its
    localStorage, and without this key reads nothing of ours (Gradio encrypts with AES, key = SHA-256 of the
    secret; the secret is in the page's config, so it hides nothing from whoever can open the page itself)."""
    path = Path(home) / SECRET_FILE
    for _ in range(50):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another server process is writing it: read it next time round
                time.sleep(0.01)
                continue
            key = secrets.token_hex(32)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(key + "\n")
            return key
        if len(text) >= 32:
            return text
        time.sleep(0.01)  # created but not written yet
    raise RuntimeError(f"{path} holds no usable key: remove it and start again")


def storage_key(secret: str) -> str:
    """The localStorage name: tied to the key, so servers with other data homes on one origin never overwrite each
    other's conversations (one of them could not read them anyway)."""
    return "newsdesk-conversations-" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def dump(book: Book) -> dict[str, Any]:
    """The JSON the browser keeps."""
    return {"version": STORE_VERSION, "open": book.open,
            "conversations": [conversation_dict(c) for c in book.conversations]}


def conversation_dict(conv: Conversation) -> dict[str, Any]:
    return {"id": conv.id, "title": conv.title, "updated": conv.updated,
            "turns": [{"question": q, "answer": answer_dict(a), "vote": conv.votes.get(i)}
                      for i, (q, a) in enumerate(conv.turns)]}


def answer_dict(answer: Answer) -> dict[str, Any]:
    """``Answer.to_json`` without timings (of no use later)."""
    data = answer.to_json()
    data.pop("timings_ms", None)
    return data


def load(raw: Any) -> Book:
    """The book from what the browser sent: whatever does not parse is dropped, the rest sorted and capped."""
    if not isinstance(raw, dict) or raw.get("version") != STORE_VERSION:
        return Book()
    seen: set[str] = set()
    kept: list[Conversation] = []
    for item in raw.get("conversations") if isinstance(raw.get("conversations"), list) else []:
        conv = conversation_from(item)
        if conv is not None and conv.id not in seen:
            seen.add(conv.id)
            kept.append(conv)
    kept.sort(key=lambda c: c.updated, reverse=True)
    book = Book(capped(kept))
    wanted = raw.get("open")
    book.open = wanted if isinstance(wanted, str) and find(book, wanted) is not None else ""
    return book


def conversation_from(data: Any) -> Conversation | None:
    if not isinstance(data, dict):
        return None
    cid, title, updated, turns = data.get("id"), data.get("title"), data.get("updated"), data.get("turns")
    if not (isinstance(cid, str) and _ID.match(cid) and isinstance(title, str) and _number(updated)
            and updated >= 0 and isinstance(turns, list)):
        return None
    kept: list[tuple[str, Answer]] = []
    votes: dict[int, str] = {}
    for turn in turns:
        if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
            continue
        answer = Answer.from_json(turn.get("answer"))
        if answer is None:
            continue
        if turn.get("vote") in VOTES:
            votes[len(kept)] = turn["vote"]
        kept.append((turn["question"], answer))
    if not kept:
        return None
    conv = Conversation(cid, clean_title(title) or title_for(kept[0][0]), float(updated), kept, votes)
    conv.size = len(dumps(conversation_dict(conv)))
    return conv


def _number(x: Any) -> bool:
    return (isinstance(x, int | float) and not isinstance(x, bool)) and math.isfinite(x)


# -- the list's operations -------------------------------------------------------------------------------------------


def new_id() -> str:
    return secrets.token_hex(8)


def title_for(question: str) -> str:
    """A conversation's title: its first question on one line, cut at a word near ``MAX_TITLE_CHARS``."""
    text = " ".join(question.split())
    if len(text) <= MAX_TITLE_CHARS:
        return text or "Untitled"
    cut = text[:MAX_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_TITLE_CHARS // 2 else cut).rstrip(" ,;:") + "…"


def clean_title(title: str) -> str:
    return " ".join(title.split())[:MAX_TITLE_CHARS]


def find(book: Book, cid: str) -> Conversation | None:
    return next((c for c in book.conversations if c.id == cid), None) if cid else None


def choices(book: Book) -> list[tuple[str, str]]:
    """(title, id) for the list, most recent first."""
    return [(c.title, c.id) for c in book.conversations]


def save(book: Book, cid: str, turns: list[tuple[str, Answer]], votes: dict[int, str],
         now: float | None = None) -> Book:
    """The book with conversation ``cid`` holding ``turns`` (a new one when ``cid`` is "" or gone), first in the
    list and open; nothing is saved for a conversation with no turns."""
    if not turns:
        return Book(list(book.conversations), "")
    old = find(book, cid)
    conv = Conversation(old.id if old else new_id(), old.title if old else title_for(turns[0][0]),
                        time.time() if now is None else now, list(turns),
                        {i: v for i, v in votes.items() if 0 <= i < len(turns) and v in VOTES})
    conv.size = len(dumps(conversation_dict(conv)))
    rest = [c for c in book.conversations if c.id != conv.id]
    return Book(capped([conv, *rest]), conv.id)


def capped(conversations: list[Conversation]) -> list[Conversation]:
    """The first ``MAX_CONVERSATIONS`` (most recent first) that fit in ``MAX_STORE_CHARS``; the first always stays."""
    kept: list[Conversation] = []
    total = 0
    for conv in conversations[:MAX_CONVERSATIONS]:
        if kept and total + conv.size > MAX_STORE_CHARS:
            break
        kept.append(conv)
        total += conv.size
    return kept


def rename(book: Book, cid: str, title: str, now: float | None = None) -> Book:
    """The book with ``cid`` retitled (whitespace collapsed, at most ``MAX_TITLE_CHARS``); an empty title gives it
    back its first question. Renaming counts as use: it moves to the top."""
    conv = find(book, cid)
    if conv is None:
        return book
    renamed = Conversation(conv.id, clean_title(title) or title_for(conv.turns[0][0]),
                           time.time() if now is None else now, conv.turns, conv.votes, conv.size)
    return Book([renamed, *(c for c in book.conversations if c.id != cid)], book.open)


def delete(book: Book, cid: str) -> Book:
    """The book without ``cid``; when it was the open one, none is open."""
    return Book([c for c in book.conversations if c.id != cid], "" if book.open == cid else book.open)


def opened(book: Book, cid: str) -> Book:
    """The book with ``cid`` (or, when unknown, none) open."""
    return Book(list(book.conversations), cid if find(book, cid) else "")
