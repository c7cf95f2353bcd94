"""Citation markers in generated text: checked and renumbered while the answer streams, then turned into citations.

Every ``[n]`` is checked as soon as it is complete: markers naming no passage are dropped, valid ones are renumbered
1..N in order of first use, so the text a user sees while it streams is already the final one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.text import split_sentences, stems
from assistant.types import Citation, Passage

_MARKER_BODY = re.compile(r"\s*\d+(?:\s*[-–]\s*\d+)?(?:\s*,\s*\d+(?:\s*[-–]\s*\d+)?)*\s*")
MAX_MARKER_CHARS = 24
"""A ``[`` followed by more than this many digits, commas and dashes is text, not a marker."""
MAX_RANGE = 10
"""``[2-5]`` cites 2, 3, 4 and 5; a range whose ends are this far apart or more (or reversed) is read as its first
number."""
MIN_QUOTE_OVERLAP = 0.3
"""Cosine of stem sets above which a passage sentence counts as the source of a cited claim (highlighted)."""


@dataclass
class Markers:
    """Validates and renumbers ``[n]`` markers in streamed text, piece by piece."""

    n_passages: int
    order: list[int] = field(default_factory=list)
    """Passage numbers (1-based, as in the prompt) in order of first citation: citation ``i+1`` is ``order[i]``."""
    dropped: int = 0
    _held: str = ""
    _space: str = ""

    def feed(self, piece: str) -> str:
        out: list[str] = []
        for char in piece:
            if self._held:
                self._held += char
                if char == "]":
                    out.append(self._marker(self._held))
                    self._held = ""
                elif not (char.isdigit() or char in " ,-–") or len(self._held) > MAX_MARKER_CHARS:
                    self._emit(out, self._held)
                    self._held = ""
            elif char == "[":
                self._held = char
            elif char.isspace():
                self._space += char
            else:
                self._emit(out, char)
        return "".join(out)

    def flush(self) -> str:
        out: list[str] = []
        if self._held:
            self._emit(out, self._held)
            self._held = ""
        return "".join(out)

    def _emit(self, out: list[str], text: str) -> None:
        if self._space and text[:1] not in ".,;:!?)":
            out.append(self._space if "\n" in self._space else " ")
        self._space = ""
        out.append(text)

    def _marker(self, marker: str) -> str:
        body = marker[1:-1]
        if not _MARKER_BODY.fullmatch(body):
            return self._space_then(marker)
        numbers: list[int] = []
        for part in body.split(","):
            bounds = [int(x) for x in re.split(r"[-–]", part.strip()) if x.strip()]
            if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < MAX_RANGE:
                numbers.extend(range(bounds[0], bounds[1] + 1))
            else:
                numbers.extend(bounds[:1])
        valid = [k for k in dict.fromkeys(numbers) if 1 <= k <= self.n_passages]
        self.dropped += len(set(numbers)) - len(valid)
        if not valid:
            return ""  # the space before it stays held: dropped before punctuation, kept before a word
        text = ""
        for k in valid:
            if k not in self.order:
                self.order.append(k)
            text += f"[{self.order.index(k) + 1}]"
        return self._space_then(text)

    def _space_then(self, text: str) -> str:
        space, self._space = self._space, ""
        return (space if "\n" in space or not space else " ") + text


def tidy(text: str) -> str:
    """Whitespace left by dropped markers."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def cited(text: str, passages: Sequence[Passage], order: Sequence[int]) -> list[Citation]:
    """Citations for the markers used, with the passage sentences the cited answer sentences draw on."""
    answer_sentences = [text[a:b] for a, b in split_sentences(text)]
    out = []
    for i, k in enumerate(order, 1):
        passage = passages[k - 1]
        claims = [s for s in answer_sentences if f"[{i}]" in s]
        out.append(Citation.of(i, passage, _quotes(claims, passage)))
    return out


def _quotes(claims: list[str], passage: Passage) -> tuple[tuple[int, int], ...]:
    spans = split_sentences(passage.text)
    if not spans:
        return ()
    sentence_stems = [set(stems(passage.text[a:b])) for a, b in spans]
    found: set[tuple[int, int]] = set()
    for claim in claims:
        words = set(stems(re.sub(r"\[\d+\]", " ", claim)))
        if not words:
            continue
        overlap = [len(words & s) / (len(words) ** 0.5 * max(1, len(s)) ** 0.5) for s in sentence_stems]
        best = max(range(len(spans)), key=overlap.__getitem__)
        if overlap[best] >= MIN_QUOTE_OVERLAP:
            found.add(spans[best])
    return tuple(sorted(found))
