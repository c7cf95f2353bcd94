"""Finding article files: which files a folder holds for indexing, and which links out of it are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from index.article import Failure

SINGLE_ARTICLE = {".txt", ".text", ".md", ".markdown", ".html", ".htm"}
COLLECTIONS = {".json", ".jsonl", ".ndjson"}
SUPPORTED = SINGLE_ARTICLE | COLLECTIONS


def iter_files(root: Path, follow_external: bool = False) -> Iterator[Path | Failure]:
    """Files below a folder, sorted, skipping hidden entries and never looping on symlinked folders.

    A symbolic link (to a file or a folder) whose target lies outside ``root`` is not followed unless
    ``follow_external``: ``ln -s /etc/passwd news/x.txt`` would otherwise put that file in the index and show it in
    answers. Each one skipped comes out as a ``Failure`` saying why; links inside ``root`` are followed.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            skipped = None if follow_external else external_link(Path(dirpath) / name, root, "folder")
            if skipped:
                yield skipped
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.startswith("."):
                path = Path(dirpath) / name
                yield (None if follow_external else external_link(path, root)) or path


def external_link(path: Path, root: Path, kind: str = "file") -> Failure | None:
    """A ``Failure`` when ``path`` is a symbolic link whose existing target lies outside the folder ``root``."""
    if not os.path.islink(path):
        return None
    target, inside = os.path.realpath(path), os.path.realpath(root)
    if target == inside or target.startswith(inside.rstrip(os.sep) + os.sep) or not os.path.exists(target):
        return None  # (a broken link is reported as such by load_file)
    return Failure(str(path.absolute()), f"symbolic link to a {kind} outside {root.absolute()}: skipped "
                                         "(set NEWSDESK_FOLLOW_EXTERNAL_LINKS=1 to index it)")


def ignorable(path: Path) -> bool:
    """Files a news folder commonly holds beside articles (and partial downloads): skipped silently rather than
    reported, by a folder sync and by the watcher alike."""
    return path.name in {"Thumbs.db", "desktop.ini"} or path.suffix.lower() in {".tmp", ".part", ".swp", ".crdownload"}
