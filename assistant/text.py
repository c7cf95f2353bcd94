"""Text as the answering code reads it: sentences, words and stems.

One tokenisation for the extractive answer (sentences to lift, words to score) and for generated answers (which
passage sentences a cited claim draws on), so both see the same words.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer

LINK = re.compile(r"https?://\S+|\b[\w.-]+\.(?:com|org|net|ly|co)/\S*|@\w+|\[email[^\]]*\]")
ACRONYM_DOTS = re.compile(r"\b(?:[A-Z]\.){2,4}")
WORD = re.compile(r"\d+(?:[.,:]\d+)*%?|[^\W\d_]+(?:['’\-][^\W\d_]+)*")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can could did didn't do does doesn't doing don't down during each either else ever few for from
further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's may me might more most must mustn't my
myself no nor not now of off on once only or other ought our ours ourselves out over own per same shall she she'd
she'll she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've this those through thus to too under until up upon us very via was wasn't we we'd
we'll we're we've were weren't what what's when when's where where's whether which while who who's whom whose why
why's will with within without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
tell told say said says according article articles report reported reports news know known happen happened many much
""".split())

ABBREVIATIONS = frozenset("""
mr mrs ms dr prof gen lt col sgt capt maj adm cmdr gov sen rep st jr sr inc co corp ltd no vs etc jan feb mar apr
jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m mt ft
""".split())
"""Words whose full stop ends no sentence ("Lt. Gen. Igor Kirillov", "7 a.m. the strikes")."""

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"“'‘(\[#]?[A-Z0-9\u0400-\u04ff])|\n+")

_local = threading.local()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``: punctuation followed by a capital, or a line break; abbreviations kept."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end() if match.group()[0] != "\n" else match.start()
        if match.group()[0] == ".":
            before = text[start:match.start()].split()
            last = before[-1].lower().lstrip("(\"“") if before else ""
            if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def words(text: str) -> list[str]:
    """Word tokens, possessives dropped ("Russia's" -> "Russia"); links and @handles are not words."""
    out = []
    text = ACRONYM_DOTS.sub(lambda m: m.group().replace(".", ""), LINK.sub(" ", text))
    for match in WORD.finditer(text):
        token = match.group()
        if token[-2:] in ("'s", "’s"):
            token = token[:-2]
        out.append(token)
    return out


def _stemmer() -> Stemmer.Stemmer:
    """One per thread: PyStemmer objects are not safe to share (the web app answers on several threads)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Snowball stem, lower-cased; acronyms keep their capitals so "US" never matches the pronoun "us"."""
    if 2 <= len(word) <= 5 and word.isupper() and word.isalpha():
        return word
    word = word.lower().replace("’", "'")
    if word[:1].isdigit():
        return word.replace(",", "")
    return _stemmer().stemWord(word)


def stems(text: str) -> list[str]:
    """Stems of the content words (stopwords dropped, acronyms kept)."""
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS or w.isupper() and len(w) >= 2]
