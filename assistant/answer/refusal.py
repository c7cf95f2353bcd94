"""The refusal: what the assistant says when the articles do not answer, in offline and generated answers alike."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import split_sentences
from assistant.types import Filters, Passage

REFUSAL = "The articles don't say."
"""The opening of every refusal over retrieved passages. The LLM is told to reply exactly this (the ``{refusal}``
of prompts/answer_system.txt); a reply that refuses in any words (``is_refusal``) is replaced by ``refusal_text``."""

# -- how models refuse -------------------------------------------------------------------------------------------
# Phrasings read in real replies (bench/llm_eval.py's answers file, Qwen2.5-Coder-1.5B): "The articles don't say.",
# "The Pope did not say anything about the Kyiv strikes." Others are the usual ones of small instruction models.

_REF_NOUN = r"(?:articles?|passages?|context|excerpts?|snippets?|sources?|texts?|documents?|information)"
_REF = (r"(?:(?:the|these|those|provided|given|above|available|supplied|retrieved|news)\s+)+" + _REF_NOUN
        + r"|\b(?:articles?|passages?|context|excerpts?)")
"""The passages themselves: "the provided passages", "these sources"; "sources"/"texts" alone are news-speak
("sources said"), so they need a determiner."""
_INFO_VERB = (r"(?:say|state|mention|contain|include|provide|give|specify|discuss|address|cover|describe|report|"
              r"indicate|answer|tell|talk|refer|reveal|explain|offer|detail|show|have|touch|note|name|identify)\w*")
_INFO_NOUN = r"(?:information|mention|details?|data|reference|indication|answer|record|evidence|facts?|statement)s?"
_PARTICIPLE = (r"(?:mentioned|stated|specified|provided|given|included|discussed|addressed|covered|reported|found|"
               r"available|described|contained|answered|disclosed|known|clear|indicated|explained|revealed)")
_IN_REF = (r"\b(?:in|from|within|among|across)\s+(?:the\s+|these\s+|those\s+|any\s+(?:of\s+the\s+)?)?"
           r"(?:(?:provided|given|above|available)\s+(?:sources|information|texts|documents)|"
           r"(?:\w+\s+)?(?:articles?|passages?|context|excerpts?|snippets?|texts?|documents?))\b")
"""Where the model looked: "in the passages", "from the provided sources" (not "by local sources": news-speak)."""

META = [re.compile(p) for p in (
    rf"(?:{_REF})\b[^.]{{0,40}}?\b(?:do|does|did|can|could|will|would)\s*(?:not|n't)\s+(?:\w+\s+){{0,2}}?{_INFO_VERB}\b",
    rf"\b(?:none|neither)\s+of\s+(?:the\s+|these\s+)?(?:\w+\s+)?{_REF_NOUN}\b",
    rf"\bnot\s+(?:\w+ly\s+)?{_PARTICIPLE}\b.{{0,30}}?{_IN_REF}",
    rf"\bno\s+(?:\w+\s+)?{_INFO_NOUN}\b.{{0,80}}?{_IN_REF}",
    rf"\bnot\s+(?:\w+\s+){{0,2}}?(?:in|from|within)\s+(?:the\s+|these\s+|any\s+)?(?:\w+\s+)?{_REF_NOUN}\b",
    rf"(?:{_REF})\b[^.]{{0,40}}?\b(?:lack|are silent|is silent|say nothing|says nothing|mention nothing)",
)]
"""Refusals about the passages themselves: one even when the model put a marker on it ("The articles don't mention
the Pope [1].")."""

IGNORANCE = [re.compile(p) for p in (
    r"\bi\s+(?:do\s+not|don't|did\s+not|didn't|cannot|can't|could\s+not|couldn't|am\s+(?:not\s+able|unable)\s+to|"
    r"'m\s+(?:not\s+able|unable)\s+to|have\s+no)\s+(?:\w+\s+){0,2}?(?:know|answer|find|determine|say|tell|provide|"
    r"see|locate|information|idea)",
    r"^(?:i\s+am\s+|i'm\s+)?sorry\b|\bi\s+(?:am|'m)\s+sorry\b|^unfortunately$",
    r"\b(?:cannot|can't|could\s+not|couldn't|unable\s+to|not\s+possible\s+to|impossible\s+to)\s+(?:be\s+)?"
    r"(?:determined?|answer(?:ed)?|found|find|tell|told|say|know|known|confirm(?:ed)?)\b",
    rf"\bthere\s+(?:is|are|was|were)\s+no\s+(?:\w+\s+)?{_INFO_NOUN}\b",
    rf"\b(?:is|are|was|were)(?:\s+not|n't)\s+(?:\w+ly\s+)?{_PARTICIPLE}\b",
    rf"\bha(?:s|ve)(?:\s+not|n't)\s+been\s+(?:\w+ly\s+)?{_PARTICIPLE}\b",
    r"\b(?:did|does|do|has|have|had)(?:\s+not|n't)\s+(?:say|said|mention|mentioned|comment|commented|speak|spoken|"
    r"make|made|give|given|issue|issued|express|expressed|offer|offered|provide|provided|share|shared)\s+"
    r"(?:anything|any\s+\w+|a\s+(?:statement|comment|remark|response|reaction))\b",
    r"\b(?:said|says|say|mentioned|revealed|stated)\s+nothing\b|\bmade\s+no\s+(?:comment|statement|remarks?)\b",
    rf"^no\s+(?:\w+\s+)?{_INFO_NOUN}\b",
)]
"""Not knowing, or nobody saying anything: a refusal unless cited ("The Kremlin did not comment [1]." reports a
fact; "The Pope did not say anything about the Kyiv strikes." with no citation is the model not finding it)."""

_CLAUSE = re.compile(r"\s*(?:;|:\s|,\s*(?:but|however|although|though|while|whereas|yet|so)\b|\b(?:but|however)\b,?)"
                     r"\s*")
_CITATION = re.compile(
    r"\[[^\[\]\n]{0,40}\d[^\[\]\n]{0,40}\]|【[^】\n]{0,40}】|\(\s*(?:passages?|sources?)\s*\d[^)]*\)", re.IGNORECASE)
"""A marker as the product writes it (``[1]``) or as a model may (the raw replies bench/llm_eval.py reads)."""
_LEADING_CITATIONS = re.compile(rf"^(?:\s*(?:{_CITATION.pattern}))+", re.IGNORECASE)


def _clauses(text: str) -> list[tuple[str, bool]]:
    """(clause, carries a citation) for each clause of each sentence, normalised for matching: lower case,
    straight apostrophes, citations removed. A citation opening a sentence belongs to the one before."""
    out: list[tuple[str, bool]] = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        lead = _LEADING_CITATIONS.match(sentence)
        if lead and out:
            out[-1] = (out[-1][0], True)
            sentence = sentence[lead.end():]
        for part in _CLAUSE.split(sentence):
            cited = bool(_CITATION.search(part))
            plain = " ".join(_CITATION.sub(" ", part).lower().replace("’", "'").replace("‘", "'").split())
            plain = plain.strip(" .,;:!?-–—\"'“”()*•")
            if plain:
                out.append((plain, cited))
            elif out:
                out[-1] = (out[-1][0], out[-1][1] or cited)
    return out


def _refuses(clause: str, cited: bool) -> bool:
    return any(p.search(clause) for p in META) or (not cited and any(p.search(clause) for p in IGNORANCE))


def is_refusal(text: str) -> bool:
    """The reply says the articles don't answer: its first clause refuses (in ``REFUSAL``'s words or any of
    ``META`` / ``IGNORANCE``) and no cited clause answers. "Kyiv was hit by 100 missiles [1]. The articles don't
    say how many died." is a partial answer, and "Zelensky did not attend the summit [2]." an answer."""
    clauses = _clauses(text)
    if not clauses or not _refuses(*clauses[0]):
        return False
    return not any(cited and not _refuses(clause, cited) for clause, cited in clauses)


def refusal_text(passages: Sequence[Passage], filters: Filters | None = None) -> str:
    """Says plainly the articles don't answer, and which nearby articles there are: each title, source and date
    once (the dev set's quiz articles share one title per day across many articles)."""
    if not passages:
        if filters:
            return f"No indexed article {describe(filters)}, so I can't answer from the articles."
        return "The indexed articles don't cover this, so I can't answer it."
    nearby: dict[tuple[str, str, str], str] = {}
    for p in passages:
        key = (" ".join(p.title.split()), p.source or "", p.published or "")
        if key not in nearby:
            meta = ", ".join(x for x in (p.source, p.published) if x)
            nearby[key] = f"“{key[0]}”" + (f" ({meta})" if meta else "")
        if len(nearby) == 3:
            break
    return f"{REFUSAL} The closest ones cover: " + "; ".join(nearby.values()) + "."


def describe(filters: Filters) -> str:
    """ "was published between 2024-12-01 and 2024-12-31 by Reuters" """
    parts = []
    if filters.since and filters.until:
        parts.append(f"was published between {filters.since} and {filters.until}")
    elif filters.since:
        parts.append(f"was published on or after {filters.since}")
    elif filters.until:
        parts.append(f"was published on or before {filters.until}")
    if filters.sources:
        parts.append(("comes from " if not parts else "by ") + " or ".join(filters.sources))
    return " ".join(parts) or "matches"
