"""The refusal: what the assistant says when the articles do not answer, in offline and generated answers alike."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.types import Filters, Passage

REFUSAL = "The articles don't say."
"""The opening of every refusal over retrieved passages. The LLM is told to reply exactly this (the ``{refusal}``
of prompts/answer_system.txt), and a reply opening with it is replaced by ``refusal_text``."""

_OPENS_WITH_REFUSAL = re.compile(
    r"^\W*" + re.escape(REFUSAL.removesuffix(".")).replace("don't", "(?:don['’]t|do not)") + r"\b", re.IGNORECASE)
"""``REFUSAL`` as models write it: any case, a curly apostrophe or "do not", with or without the full stop."""


def is_refusal(text: str) -> bool:
    return bool(_OPENS_WITH_REFUSAL.match(text))


def refusal_text(passages: Sequence[Passage], filters: Filters | None = None) -> str:
    """Says plainly the articles don't answer, and which nearby articles there are."""
    if not passages:
        if filters:
            return f"No indexed article {describe(filters)}, so I can't answer from the articles."
        return "The indexed articles don't cover this, so I can't answer it."
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.article_id, p)
    nearby = []
    for p in list(seen.values())[:3]:
        meta = ", ".join(x for x in (p.source, p.published) if x)
        nearby.append(f"“{p.title}”" + (f" ({meta})" if meta else ""))
    return f"{REFUSAL} The closest ones cover: " + "; ".join(nearby) + "."


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
