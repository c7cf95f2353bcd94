"""A sync report as terminal lines: the summary, then failures and replaced lines, capped so a bad folder of
10,000 files does not flood the screen (``newsdesk -v`` lists them all). Used by ``index`` and ``serve --index``."""

from __future__ import annotations

from index import SyncReport
from index.article import printable

MAX_LISTED = 50
"""Failures (and, separately, replaced lines) listed before the rest are only counted."""


def report_lines(report: SyncReport, everything: bool = False) -> list[str]:
    lines = [report.summary()]
    failures = report.failures if everything else report.failures[:MAX_LISTED]
    lines += [f"  failed  {failure}" for failure in failures]  # str(failure) escapes control characters
    if len(report.failures) > len(failures):
        lines.append(f"  and {len(report.failures) - len(failures):,} more failures (newsdesk -v index ... lists "
                     "them all)")
    replaced = [i for i in report.items if i.status in ("same-url", "same-id")]
    shown = replaced if everything else replaced[:MAX_LISTED]
    lines += [printable(f"  {item.status}  {item.location}: {item.reason}") for item in shown]
    more = report.same_url + report.same_id - len(shown)
    if more > 0:
        lines.append(f"  and {more:,} more sharing a url or id with an earlier article")
    return lines
