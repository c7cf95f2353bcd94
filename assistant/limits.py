"""What the engine refuses to take in, before any work: over-long questions and text that cannot be encoded.

Why a hard cap: retrieval and answering scale with the question's length, and a 10 MB question took 38 s and
338 MB of memory to answer (three at once: 4.3 GB, and every other user waited). Why refuse lone surrogates
(``"\\udc00"``, which JSON escapes and Python strings allow): they cannot be encoded as UTF-8, so tokenising,
hashing or logging them raises deep inside the pipeline instead of telling the user what is wrong.
"""

from __future__ import annotations

from assistant.settings import Settings
from index.article import unencodable


class QuestionError(ValueError):
    """A question (or conversation) that is refused as given; the message says why, for the person asking."""


def check_text(text: str, what: str = "the question") -> None:
    bad = unencodable(text)
    if bad:
        raise QuestionError(f"{what} contains an invalid character ({bad}); send it as valid Unicode text")


def check_question(question: str, settings: Settings) -> None:
    """Raises ``QuestionError`` for a question no front end should pass on to retrieval."""
    limit = settings.max_question_chars
    if len(question) > limit:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is {limit:,} "
                            "(NEWSDESK_MAX_QUESTION_CHARS)")
    check_text(question)
