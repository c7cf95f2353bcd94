"""Saving files uploaded through the web page into the uploads folder, safely.

The browser chooses the file name and the bytes, so both are untrusted: the name is reduced to a plain file name
inside ``Settings.uploads_dir`` (no ``../``, no absolute paths, no hidden or device names), the type must be one the
indexer reads, and the size is capped by ``Settings.upload_max_mb``. A refused upload changes nothing on disk.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import Settings
from index.sources.files import SUPPORTED

ALLOWED = tuple(sorted(SUPPORTED))
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)
_MAX_NAME = 120


class UploadError(ValueError):
    """An upload that was refused; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Saved:
    name: str
    """The name as given by the browser (for the report)."""
    path: Path


def safe_name(name: str) -> str:
    """A plain file name from whatever the browser sent; raises UploadError when nothing usable is left."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" .")[: _MAX_NAME - len(suffix) - 1]
    if not stem or not suffix:
        raise UploadError(f"not a usable file name: {name!r}")
    return f"{stem}.{suffix}"


def check_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UploadError(f"file type '{suffix or '(none)'}' is not accepted (takes {', '.join(ALLOWED)})")
    return suffix


def save_upload(src: str | Path, name: str, settings: Settings) -> Saved:
    """Copy one uploaded file into the uploads folder; an existing file of the same name is replaced."""
    clean = safe_name(name)
    check_type(clean)
    src = Path(src)
    size = src.stat().st_size
    limit = settings.upload_max_mb * 1024 * 1024
    if size > limit:
        raise UploadError(f"too large ({size / 1048576:.1f} MB > {settings.upload_max_mb:g} MB limit)")
    if size == 0:
        raise UploadError("empty file")
    folder = settings.uploads_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / clean).resolve()
    if target.parent != folder:
        raise UploadError(f"not a usable file name: {name!r}")
    partial = target.with_name(f".{target.name}.part")
    with src.open("rb") as fin, partial.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    if partial.stat().st_size > limit:  # the file grew while being copied
        partial.unlink()
        raise UploadError(f"too large (> {settings.upload_max_mb:g} MB limit)")
    os.replace(partial, target)
    return Saved(name, target)


STALE_CACHE_SECONDS = 86400
"""A cache folder left this long by a server that was killed (no clean-up ran) is removed by the next one."""


def private_upload_cache(settings: Settings) -> Path:
    """The folder Gradio keeps uploaded files in before ``WebApp.upload`` sees them, set as ``GRADIO_TEMP_DIR``.

    Gradio's default, ``/tmp/gradio``, is shared by every user of the machine and readable by all (0755). This one
    lies below the data home, is private to its user (0700), belongs to one server process, and is removed when
    that process exits. It must be set before the Blocks and the app are built: both read it then.
    """
    root = settings.home / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.glob("gradio-*"):
        try:
            if now - old.stat().st_mtime > STALE_CACHE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    folder = Path(tempfile.mkdtemp(prefix="gradio-", dir=root)).resolve()  # mkdtemp makes it 0700
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    return folder

