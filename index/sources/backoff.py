"""How long a failing source waits before its next try: feeds, article pages and watched folders alike."""

from __future__ import annotations


def doubling_wait(first: float, failures: int, longest: float) -> float:
    """``first`` doubled per consecutive failure, never more than ``longest``: a source that keeps failing is
    tried ever more rarely, and one that recovers is back on schedule after its next success."""
    return min(first * 2 ** failures, longest)
