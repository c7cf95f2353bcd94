"""Token counting with tiktoken, offline.

``tiktoken.get_encoding`` downloads its BPE file unless ``TIKTOKEN_CACHE_DIR`` points at a copy;
llama-index-core ships one, so we point there before the first call.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import tiktoken

ENCODING = "cl100k_base"


def _bundled_cache() -> str:
    import llama_index.core

    return str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", _bundled_cache())
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))
