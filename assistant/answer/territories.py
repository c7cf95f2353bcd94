"""Country and region names, from the Unicode CLDR data that Babel ships: the only importer of Babel.

spaCy tags cities and countries alike as GPE, so "Which cities were hit besides Kyiv?" would lead with "Russia" from
a sentence that names it; a country is never the city asked for.
"""

from __future__ import annotations

from functools import cache

_ALSO = ("America", "Britain", "Great Britain", "the US", "the U.S.", "US", "U.S.", "UK", "the UK", "the U.K.",
         "U.K.", "the United States", "the United Kingdom", "the Netherlands", "the Philippines")
"""Everyday names CLDR does not list ("United States", "Netherlands" are listed without their article)."""


@cache
def _names() -> frozenset[str]:
    from babel import Locale

    return frozenset(name.lower() for name in (*Locale("en").territories.values(), *_ALSO))


def is_territory(name: str) -> bool:
    """Whether the name is a country or a larger region ("Russia", "the United States", "Europe")."""
    return name.strip().lower() in _names()
