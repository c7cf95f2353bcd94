"""Figures the cited articles disagree on ("12 killed" [1], "15 killed" [2]): said in the answer, not left for the
reader to spot.

Figures come from the sentences the answer used (``Citation.quotes``; the whole passage when it quotes nothing): a
number tied by the words next to it to what it counts. A wrong flag would discredit good reporting, so every doubt
means no flag: an article giving two values for one thing gives none, and two articles disagree only when their
figure sentences can be about the same event (published within two days, no different days named, no disjoint
places, both tallies of one day or both running totals). spaCy runs only on the figure sentences of a would-be
conflict whose place the regex cannot find (1-3 ms a sentence; answers must stay under 300 ms).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.answer.entities import entities
from assistant.text import STOPWORDS, split_sentences
from assistant.types import Citation, Conflict

MAX_DAYS_APART = 2
"""Articles published further apart report different days' events (or an updated toll): not compared."""
APPROX_TOLERANCE = 0.05
""""About 60" and "61" agree: a figure given as approximate matches any within this share of it."""

_ONES = "one two three four five six seven eight nine".split()
_SMALL = {w: i for i, w in enumerate(
    _ONES + "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split(), 1)}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_WORDS = (rf"(?:{'|'.join(_TENS)})(?:-(?:{'|'.join(_ONES)}))?|a dozen|"
          + "|".join(sorted(_SMALL, key=len, reverse=True)))
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "k": 1e3, "m": 1e6, "mn": 1e6,
           "bn": 1e9, "tn": 1e12}
_QUALIFIER = (r"(?P<q>(?:at least|at most|more than|over|nearly|almost|about|around|roughly|approximately|some|"
              r"up to|fewer than|less than|as many as|close to|an estimated)\s+)?")
_APPROX = {"nearly", "almost", "about", "around", "roughly", "approximately", "some", "close to", "an estimated"}
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_MONTH = "|".join(_MONTHS)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"

COUNT = re.compile(rf"(?<![\w$€£.,:-]){_QUALIFIER}(?P<n>{_DIGITS}|{_WORDS})(?P<s>\s(?:thousand|million|billion)\b)?"
                   r"(?![\w%]|[.,:]\d|-)", re.IGNORECASE)
MONEY = re.compile(rf"(?<![\w.,]){_QUALIFIER}(?:(?P<cur>US\$|\$|€|£)\s?(?P<n>{_DIGITS})"
                   r"(?P<s>\s?(?:tn|bn|mn|m|k)\b|\s(?:thousand|million|billion|trillion)\b)?"
                   rf"|(?P<n2>{_DIGITS})(?P<s2>\s(?:thousand|million|billion|trillion))?\s(?P<cur2>dollars|euros|pounds)"
                   r")(?!\w)", re.IGNORECASE)
NOT_A_COUNT_AFTER = re.compile(rf"\s*(?:percent|per cent|years?|months?|weeks?|days?|hours?|minutes?|seconds?|"
                               rf"a\.m|p\.m|am|pm|gmt|utc|o'clock|km|kilomet(?:re|er)s?|miles|met(?:re|er)s?|feet|"
                               rf"kg|tonnes?|tons?|{_MONTH})\b", re.IGNORECASE)
NOT_A_COUNT_BEFORE = re.compile(rf"\b(?:aged|ages?|no|number|route|article|flight|{_MONTH})\.?\s*$", re.IGNORECASE)
YEAR = re.compile(r"(?:19|20)\d\d")
PEOPLE = re.compile(r"\s+(?:people|persons|civilians|soldiers|troops|residents|children|missiles|drones|dead|killed|"
                    r"injured|wounded)\b")
KEYWORD = re.compile(r"\b(?:(?P<killed>death toll|toll|killed|killing|kills|dead|died|deaths?|fatalities|lives)|"
                     r"(?P<injured>injured|injuring|injuries|wounded|wounding|hurt)|"
                     r"(?P<intercepted>intercepted|intercepting|intercepts|shot down|shooting down|downed)|"
                     r"(?P<missiles>missiles)|(?P<drones>drones))\b", re.IGNORECASE)
WEAPONS = re.compile(r"\b(?:missiles|drones|rockets|uavs)\b", re.IGNORECASE)
COMBINED = re.compile(r"\s*(?:and|or|&)\s+(?:[a-z-]+\s+){0,2}?(?:missiles|drones|rockets|uavs)\b", re.IGNORECASE)
"""After a weapon noun: "300 drones and missiles" counts two kinds together."""
WHAT = {"killed": "killed", "injured": "injured", "intercepted": "intercepted", "missiles": "missiles fired",
        "drones": "drones launched"}
AMOUNT_NOUN = re.compile(r"\b(aid|funding|loans?|budget|fine|damages|compensation|settlement|contract|deal|"
                         r"investment|revenue|profits?|sales|spending|ransom|package)\b", re.IGNORECASE)
CURRENCY = {"$": "USD", "us$": "USD", "dollars": "USD", "€": "EUR", "euros": "EUR", "£": "GBP", "pounds": "GBP"}
CLAUSE_BREAK = re.compile(r"[,;:()\[\]—–!?\"“”]|\d|\b(?:" + _WORDS + r")\b", re.IGNORECASE)
BEFORE_BREAK = re.compile(r"\b(?:in|on|during|after|since|for|from|across|within|by)\b", re.IGNORECASE)
ELLIPSIS = re.compile(r"\s+(?:(?:more|others?|people)\s+)?(?:in|near|at|on|across)\s+(?:the\s+)?[A-Z]|"
                      r"\s+(?:more|others)\b")
RUNNING_TOTAL = re.compile(r"\b(?:since|so far|to date|this year|over the (?:past|last))\b", re.IGNORECASE)
PLACE = re.compile(r"\b(?:in|near|outside|on|over|across|into|hit|struck|targeted|shelled|"
                   r"(?:city|town|village|region) of)\s+(?:the\s+)?([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*)")
NAME = re.compile(r"\b[A-Z][\w'’-]*")
DAY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b|\b({_MONTH})\.?\s+(\d{{1,2}})\b", re.I)
NOT_A_PLACE = re.compile(rf"(?:{_MONTH}|{_WEEKDAY})\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Figure:
    what: str
    kind: str
    """Only figures of one kind are compared: an amount's currency, and "total" for running totals ("since ...")."""
    number: float
    shown: str
    qualifier: str
    sentence: str


@dataclass
class _Claim:
    """One article's single value for one thing."""

    figure: _Figure
    citations: list[int]
    sentences: set[str]
    published: date | None


def find_conflicts(citations: Sequence[Citation]) -> list[Conflict]:
    """Things the cited articles give different figures for, each with every article's value."""
    found: dict[str, dict[tuple[str, str], list[tuple[_Figure, Citation]]]] = {}
    for c in sorted(citations, key=lambda c: c.n):
        for sentence in _used_sentences(c):
            for f in _figures(sentence):
                found.setdefault(c.article_id, {}).setdefault((f.what, f.kind), []).append((f, c))
    claims: dict[tuple[str, str], list[_Claim]] = {}
    for figures in found.values():
        for key, pairs in figures.items():
            if len({f.number for f, _ in pairs}) == 1:  # two values in one article: which one is the event's?
                claims.setdefault(key, []).append(_Claim(pairs[0][0], sorted({c.n for _, c in pairs}),
                                                         {f.sentence for f, _ in pairs}, _day(pairs)))
    pending = [(key, a, b) for key, group in claims.items() for i, a in enumerate(group) for b in group[i + 1:]
               if not _agree(a.figure, b.figure) and not _different_days(a, b)]
    places = _places(pending)
    conflicting: dict[tuple[str, str], list[_Claim]] = {}
    for key, a, b in pending:
        if _placed(a, places) and _placed(b, places) and not _shared_place(a, b, places):
            continue  # figures about events in different places
        group = conflicting.setdefault(key, [])
        group.extend(x for x in (a, b) if all(x is not y for y in group))
    return sorted((_conflict(key[0], group) for key, group in conflicting.items()),
                  key=lambda c: min(n for _, ns in c.values for n in ns))


def gives_figure(sentence: str) -> bool:
    """Whether the sentence gives a figure these rules compare (a toll, a missile count, an amount)."""
    return bool(_figures(sentence))


def conflict_text(conflicts: Sequence[Conflict]) -> str:
    """One sentence per conflict to append to an answer, e.g.
    'The articles disagree on how many were killed: 12 [1], 15 [2].'  ('' when none)."""
    out = []
    for c in conflicts:
        values = ", ".join(f"{v} " + "".join(f"[{n}]" for n in ns) for v, ns in c.values)
        out.append(f"The articles disagree on {_phrase(c.what)}: {values}.")
    return " ".join(out)


def _phrase(what: str) -> str:
    if what in ("killed", "injured", "intercepted"):
        return f"how many were {what}"
    if what.startswith(("missiles ", "drones ")):
        return "how many {} were {}".format(*what.split())
    return "the amount" if what == "amount" else f"the amount of {what}"


def _used_sentences(c: Citation) -> list[str]:
    spans = split_sentences(c.text)
    if c.quotes:
        spans = [(a, b) for a, b in spans if any(qa < b and a < qb for qa, qb in c.quotes)]
    return [c.text[a:b] for a, b in spans]


def _figures(sentence: str) -> list[_Figure]:
    scope = "total" if RUNNING_TOTAL.search(sentence) else ""
    out = []
    money = list(MONEY.finditer(sentence))
    for m in money:
        cur, noun = (m["cur"] or m["cur2"]).lower(), _amount_noun(sentence, m)
        if noun == "amount" and len(money) > 1:
            continue  # "a profit of $2.3bn, up from $1.9bn": the unnamed one is some other amount
        number = _number(m["n"] or m["n2"]) * _SCALES.get((m["s"] or m["s2"] or "").strip().lower(), 1)
        out.append(_figure(noun, CURRENCY[cur] + scope, number, m, sentence))
    keywords = list(KEYWORD.finditer(sentence))
    attached: list[tuple[re.Match[str], str | None]] = []
    for m in COUNT.finditer(sentence):
        if any(x.start() < m.end() and m.start() < x.end() for x in money) or not _is_count(sentence, m):
            continue
        what = _attach(sentence, m, keywords)
        if what is None and ELLIPSIS.match(sentence, m.end()):  # "12 killed in Kyiv and 3 in Odesa"
            what = next((w for _, w in reversed(attached) if w in ("killed", "injured")), None)
        attached.append((m, what))
        if what is not None:
            number = _number(m["n"]) * _SCALES.get((m["s"] or "").strip().lower(), 1)
            out.append(_figure(what, scope, number, m, sentence))
    return out


def _figure(what: str, kind: str, number: float, m: re.Match[str], sentence: str) -> _Figure:
    shown = " ".join(m.group().split())
    if m["q"] or shown[0].isalpha() and not shown.startswith("US"):  # "At least 12", "Twelve" open the sentence
        shown = shown[0].lower() + shown[1:]
    return _Figure(what, kind, number, shown, (m["q"] or "").strip().lower(), sentence)


def _number(text: str) -> float:
    text = text.lower().replace(",", "")
    if text[0].isdigit():
        return float(text)
    if text == "a dozen":
        return 12.0
    tens, _, one = text.partition("-")
    return float(_SMALL.get(tens) or _TENS[tens] + (_ONES.index(one) + 1 if one else 0))


def _is_count(sentence: str, m: re.Match[str]) -> bool:
    """Not a percentage, age, duration, time, date, measure, year or reference number."""
    after, before = sentence[m.end():], sentence[:m.start()]
    if NOT_A_COUNT_AFTER.match(after) or NOT_A_COUNT_BEFORE.search(before):
        return False
    return not (YEAR.fullmatch(m["n"]) and not m["q"] and not PEOPLE.match(after))


def _attach(sentence: str, m: re.Match[str], keywords: list[re.Match[str]]) -> str | None:
    """The nearest keyword with only a few plain words between: a count is said before its noun ("12 killed",
    "40 missiles") or after its verb ("killing 12", "shot down 30 of 40 missiles")."""
    near: list[tuple[int, int, str]] = []
    for k in keywords:
        after = k.start() >= m.end()
        gap = sentence[m.end():k.start()] if after else sentence[k.end():m.start()]
        group = k.lastgroup or ""
        if (k.end() > m.start() and not after) or CLAUSE_BREAK.search(gap) or len(gap.split()) > 3:
            continue
        if not after and (group in ("missiles", "drones") or BEFORE_BREAK.search(gap)):
            continue
        if group in ("missiles", "drones") and (COMBINED.match(sentence, k.end()) or WEAPONS.search(gap)):
            continue
        near.append((len(gap.split()), 0 if after else 1, group))
    if not near:
        return None
    group = min(near)[2]
    if group in ("missiles", "drones") and any(g == "intercepted" for _, _, g in near):
        group = "intercepted"  # "30 missiles were intercepted", "downed 30 drones"
    if group == "intercepted":
        return _intercepted(sentence, m)
    return WHAT[group]


def _intercepted(sentence: str, m: re.Match[str]) -> str:
    """"missiles intercepted" when the clause (or else the sentence) names one kind of weapon: intercepted drones
    and intercepted missiles are not the same figure."""
    for text in (re.split(r"[,;:()—–]", sentence[m.end():], maxsplit=1)[0], sentence):
        kinds = {k.lower() for k in re.findall(r"\b(missiles|drones)\b", text, re.IGNORECASE)}
        if kinds:
            return f"{kinds.pop()} intercepted" if len(kinds) == 1 else "intercepted"
    return "intercepted"


def _amount_noun(sentence: str, m: re.Match[str]) -> str:
    """What the money is for: a noun just after it ("$61 billion in aid") or just before ("aid worth $61bn")."""
    after = re.split(r"[,;:()—–]|\d", sentence[m.end():], maxsplit=1)[0].split()[:3]
    before = re.split(r"[,;:()—–]|\d", sentence[:m.start()])[-1].split()[-3:]
    for words in (after, before[::-1]):
        for word in words:
            noun = AMOUNT_NOUN.fullmatch(re.sub(r"['’]s$", "", word.strip(".'’\"")))
            if noun:
                return {"loans": "loan", "profits": "profit"}.get(noun.group().lower(), noun.group().lower())
    return "amount"


def _day(pairs: list[tuple[_Figure, Citation]]) -> date | None:
    """The article's publication day (the first of its citations that has a valid one)."""
    for _, c in pairs:
        try:
            return date.fromisoformat((c.published or "")[:10])
        except ValueError:
            continue
    return None


def _agree(a: _Figure, b: _Figure) -> bool:
    if a.number == b.number:
        return True
    approx = a.qualifier in _APPROX or b.qualifier in _APPROX
    return approx and abs(a.number - b.number) <= APPROX_TOLERANCE * max(a.number, b.number)


def _different_days(a: _Claim, b: _Claim) -> bool:
    if a.published and b.published and abs((a.published - b.published).days) > MAX_DAYS_APART:
        return True
    da, db = _days_named(a.sentences), _days_named(b.sentences)
    return any(da[k] and db[k] and not da[k] & db[k] for k in da)


def _days_named(sentences: set[str]) -> dict[str, set[str]]:
    text = " ".join(sentences)
    days = set()
    for m in DAY.finditer(text):
        day, month = (m[1], m[2]) if m[1] else (m[4], m[3])
        days.add(f"{month[:3].lower()} {int(day)}")
    return {"weekday": {w.lower() for w in re.findall(rf"\b({_WEEKDAY})", text, re.IGNORECASE)},
            "day": days, "year": set(re.findall(r"\b(?:19|20)\d\d\b", text))}


def _places(pending: list[tuple[Any, _Claim, _Claim]]) -> dict[str, set[str]]:
    """Places each figure sentence names: "in/on/near <Name>", and spaCy's GPE/LOC for a claim the regex places
    nowhere, unless the pair already shares a place (spaCy costs 1-3 ms a sentence)."""
    sentences = {s for _, a, b in pending for s in a.sentences | b.sentences}
    out = {s: {_norm(p) for p in PLACE.findall(s) if not NOT_A_PLACE.match(p)} for s in sentences}
    unnamed = sorted({s for _, a, b in pending if not _shared_place(a, b, out) for claim in (a, b)
                      if not _placed(claim, out) for s in claim.sentences if _may_name_a_place(s)})
    for s, found in zip(unnamed, entities(unnamed)):
        out[s] |= {_norm(e.text) for e in found if e.label in ("GPE", "LOC")}
    return out


def _placed(claim: _Claim, places: dict[str, set[str]]) -> set[str]:
    return set().union(*(places[s] for s in claim.sentences))


def _shared_place(a: _Claim, b: _Claim, places: dict[str, set[str]]) -> bool:
    """A place one claim names is mentioned by the other's sentences at all: "12 killed in Kyiv" and "Russia's
    strike at Kyiv killed 15" share Kyiv, though only the first says "in"."""
    texts = [" ".join(c.sentences).lower() for c in (a, b)]
    return any(re.search(rf"\b{re.escape(p)}\b", texts[1 - i]) for i, c in enumerate((a, b))
               for p in _placed(c, places))


def _may_name_a_place(sentence: str) -> bool:
    """A capitalised word other than a day, a month or an opening common word ("Twelve people ...", "The attack
    ..."): without one spaCy finds no place either, and its 1-3 ms are saved."""
    for m in NAME.finditer(sentence):
        word = m.group().lower()
        if NOT_A_PLACE.fullmatch(_norm(word)):
            continue
        if m.start() > 0 or not (word in STOPWORDS or word in _SMALL or word in _TENS or word in _APPROX):
            return True
    return False


def _norm(place: str) -> str:
    place = re.sub(r"['’]s$", "", place.strip().lower())
    return place[4:] if place.startswith("the ") else place


def _conflict(what: str, claims: list[_Claim]) -> Conflict:
    values: dict[tuple[float, str], tuple[str, set[int]]] = {}
    for claim in sorted(claims, key=lambda c: c.citations[0]):
        shown, ns = values.setdefault((claim.figure.number, claim.figure.qualifier), (claim.figure.shown, set()))
        ns.update(claim.citations)
    return Conflict(what, tuple((shown, tuple(sorted(ns))) for shown, ns in values.values()))
