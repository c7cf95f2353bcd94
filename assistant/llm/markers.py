"""Citation markers in generated text: checked and renumbered while the answer streams, then turned into citations.

Every marker is checked as soon as it is complete: markers naming no passage are dropped, valid ones are renumbered
1..N in order of first use and written ``[n]``, so the text a user sees while it streams is already the final one.
Models write markers in many styles (``bench/llm_eval.py`` counts them in raw replies): ``[1]``, ``[1, 2]``,
``[1-3]``, ``[1][2]``, ``[Passage 2]``, ``(Passage 2)``, ``【3】``, ``【3†source】``, ``[^1]``. A bare ``(1)`` is not
read as a marker: it is as likely an enumeration or a number the article put in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.refusal import is_refusal
from assistant.text import split_sentences, stems
from assistant.types import Citation, Passage

KEYWORDS = ("passages", "passage", "sources", "source", "documents", "document", "docs", "doc")
"""Words a model puts before a passage number: ``[Passage 2]``, ``(Source 1)``."""
_KEYWORD = "(?:" + "|".join(KEYWORDS) + r")\s*[:#]?\s*"
_ITEM = rf"(?:{_KEYWORD})?\d+(?:\s*[-–]\s*\d+)?"
_NUMBERS = rf"{_ITEM}(?:\s*(?:,\s*and|,|&|;|and)\s*{_ITEM})*"
CLOSERS = {"[": "]", "【": "】", "(": ")"}
_BODIES = {
    "[": re.compile(rf"\^?\s*(?P<n>{_NUMBERS})\s*", re.IGNORECASE),
    "【": re.compile(rf"\s*(?P<n>{_NUMBERS})\s*(?:†[^】]*)?", re.IGNORECASE),
    "(": re.compile(rf"\s*(?=[^\W\d_])(?P<n>{_NUMBERS})\s*", re.IGNORECASE),  # a keyword first: "(1)" is text
}
"""What may stand between an opener and its closer for the whole to be a marker."""
_HELD = re.compile(r"[^\[\]【】()\n]*")
"""What a held opener may be followed by while it could still become a marker."""
MAX_MARKER_CHARS = 40
"""An opener followed by more than this many characters without its closer is text, not a marker."""
MAX_RANGE = 10
"""``[2-5]`` cites 2, 3, 4 and 5; a range whose ends are this far apart or more (or reversed) is read as its first
number."""
MIN_QUOTE_OVERLAP = 0.3
"""Cosine of stem sets above which a passage sentence counts as the source of a cited claim (highlighted)."""


def marker_numbers(marker: str) -> list[int] | None:
    """The passage numbers a complete marker (opener to closer) names, in order; ``None`` when it is not one."""
    opener, body = marker[:1], marker[1:-1]
    pattern = _BODIES.get(opener)
    if pattern is None or marker[-1:] != CLOSERS[opener]:
        return None
    found = pattern.fullmatch(body)
    if found is None:
        return None
    numbers: list[int] = []
    for part in re.split(r",|&|;|\band\b", re.sub(_KEYWORD, " ", found.group("n"), flags=re.IGNORECASE)):
        bounds = [int(x) for x in re.split(r"[-–]", part.strip()) if x.strip()]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds[:1])
    return numbers


def could_become_marker(held: str) -> bool:
    """Whether text opened by ``[``, ``【`` or ``(`` may still turn into a marker as more characters arrive."""
    opener, body = held[:1], held[1:]
    if len(held) > MAX_MARKER_CHARS or not _HELD.fullmatch(body):
        return False
    if opener != "(":
        return True
    word = re.match(r"\s*([^\W\d_]*)", body)
    assert word is not None
    typed, rest = word.group(1).lower(), body[word.end():]
    return any(k.startswith(typed) for k in KEYWORDS) if not rest else typed in KEYWORDS


@dataclass
class Markers:
    """Validates and renumbers citation markers in streamed text, piece by piece."""

    n_passages: int
    order: list[int] = field(default_factory=list)
    """Passage numbers (1-based, as in the prompt) in order of first citation: citation ``i+1`` is ``order[i]``."""
    dropped: int = 0
    _held: str = ""
    _space: str = ""
    _last: str = ""
    """The last character emitted: a marker right after a word gets a space ("hit【3】" -> "hit [1]")."""

    def feed(self, piece: str) -> str:
        out: list[str] = []
        for char in piece:
            self._char(char, out)
        return "".join(out)

    def flush(self) -> str:
        out: list[str] = []
        held, self._held = self._held, ""
        if held:
            self._release(held, out)
            if self._held:  # what followed the opener could itself open a marker that never closed
                out.append(self.flush())
        return "".join(out)

    def _char(self, char: str, out: list[str]) -> None:
        if self._held:
            held = self._held + char
            if char == CLOSERS[held[0]]:
                self._held = ""
                numbers = marker_numbers(held)
                if numbers is None:
                    self._release(held, out)
                else:
                    self._put(out, self._marker(numbers))
            elif could_become_marker(held):
                self._held = held
            else:
                self._held = ""
                self._release(held, out)
        elif char in CLOSERS:
            self._held = char
        elif char.isspace():
            self._space += char
        else:
            self._emit(out, char)

    def _release(self, held: str, out: list[str]) -> None:
        """Held text that is not a marker: its opener is text, and what followed is read afresh (it may hold one)."""
        self._emit(out, held[0])
        for char in held[1:]:
            self._char(char, out)

    def _emit(self, out: list[str], text: str) -> None:
        if self._space and text[:1] not in ".,;:!?)":
            out.append(self._space if "\n" in self._space else " ")
        self._space = ""
        out.append(text)
        self._last = text[-1]

    def _put(self, out: list[str], text: str) -> None:
        """A marker (or nothing, when none of its numbers named a passage) where the model put one."""
        if not text:
            return  # the space before it stays held: dropped before punctuation, kept before a word
        space, self._space = self._space, ""
        if "\n" in space:
            out.append(space)
        elif space or self._last.isalnum():
            out.append(" ")
        out.append(text)
        self._last = "]"

    def _marker(self, numbers: list[int]) -> str:
        valid = [k for k in dict.fromkeys(numbers) if 1 <= k <= self.n_passages]
        self.dropped += len(set(numbers)) - len(valid)
        text = ""
        for k in valid:
            if k not in self.order:
                self.order.append(k)
            text += f"[{self.order.index(k) + 1}]"
        return text


def tidy(text: str) -> str:
    """Whitespace left by dropped markers."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


_MARKER = re.compile(r"\[(\d+)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+\])+")
_NOT_A_CLAIM = " \t\n.,;:!?-–—•*"


def claims(text: str) -> list[tuple[str, set[int]]]:
    """The answer's sentences (markers removed) with the ``[n]`` they carry. A marker opening a sentence belongs to
    the sentence before ("Fact. [1] Next fact."); at the very start, to the sentence it opens ("[1] Fact."). The
    real model put its marker after the full stop in 1 of 6 dev answers (bench/llm_eval.py, 'Fact. [n]' replies)."""
    out: list[tuple[str, set[int]]] = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        lead = _LEADING_MARKERS.match(sentence)
        if lead and out:
            out[-1][1].update(int(n) for n in _MARKER.findall(lead.group()))
            sentence = sentence[lead.end():]
        body = _MARKER.sub(" ", sentence)
        numbers = {int(n) for n in _MARKER.findall(sentence)}
        if body.strip(_NOT_A_CLAIM):
            out.append((" ".join(body.split()), numbers))
        elif out:  # a line holding only markers
            out[-1][1].update(numbers)
    return out


def cited(text: str, passages: Sequence[Passage], order: Sequence[int]) -> list[Citation]:
    """Citations for the markers used, with the passage sentences the cited answer sentences draw on. A refusal
    cites nothing, even when the model put a marker on it ("The articles don't mention the Pope [1].")."""
    if is_refusal(text):
        return []
    sentences = claims(text)
    out = []
    for i, k in enumerate(order, 1):
        passage = passages[k - 1]
        out.append(Citation.of(i, passage, _quotes([s for s, marks in sentences if i in marks], passage)))
    return out


def _quotes(claims: list[str], passage: Passage) -> tuple[tuple[int, int], ...]:
    spans = split_sentences(passage.text)
    if not spans:
        return ()
    sentence_stems = [set(stems(passage.text[a:b])) for a, b in spans]
    found: set[tuple[int, int]] = set()
    for claim in claims:
        words = set(stems(claim))
        if not words:
            continue
        overlap = [len(words & s) / (len(words) ** 0.5 * max(1, len(s)) ** 0.5) for s in sentence_stems]
        best = max(range(len(spans)), key=overlap.__getitem__)
        if overlap[best] >= MIN_QUOTE_OVERLAP:
            found.add(spans[best])
    return tuple(sorted(found))
