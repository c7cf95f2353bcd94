"""The chat page: streaming cited answers with Stop and Regenerate, conversations kept in the browser
(``conversations``), a sources panel, votes on answers (``feedback``), copy and download as Markdown (``export``), a
library panel with upload and re-index.

Every handler calls the same ``Assistant`` and ``Indexer`` as the CLI and the tests; everything shown from an
article is escaped in ``render``.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline product: Gradio must not phone home

import gradio as gr  # noqa: E402

from assistant.assistant import Assistant  # noqa: E402
from assistant.dates import DateError, parse_range  # noqa: E402
from assistant.feedback import FeedbackLog  # noqa: E402
from assistant.followups import MAX_SUGGESTIONS, Scope, suggest  # noqa: E402
from assistant.limits import QuestionError, check_question  # noqa: E402
from assistant.query import DAY_GRACE  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.types import Answer, Delta, Turn  # noqa: E402
from assistant.web import conversations, export, render  # noqa: E402
from assistant.web.conversations import Book  # noqa: E402
from assistant.web.uploads import ALLOWED, UploadError, private_upload_cache, save_upload  # noqa: E402
from index import Indexer, Progress, SyncReport  # noqa: E402
from index.pipeline.embedding import make_embedder  # noqa: E402
from index.pipeline.status import collect_status  # noqa: E402
from index.sources.watch import Watcher  # noqa: E402

log = logging.getLogger("newsdesk.web")

CHAT_CONCURRENCY = 4
"""Answers computed at once. Retrieval is CPU-bound on a small machine; more would only queue inside the CPU."""
WATCH_REFRESH = 15.0
"""Seconds between library panel refreshes while ``--watch``/``--feed`` sources may add articles."""
PROGRESS_EVERY = 0.25
"""Seconds between progress updates sent to the page while indexing."""

ChatState = list[tuple[str, Answer]]
CONTROLS = 6
"""Components ``WebApp.controls`` updates."""
TICK = 0.1
"""Seconds between the answer generator's checks while waiting for the next piece: how soon Stop takes effect."""
FOLLOW_UP_QUIET = 0.5
"""Seconds without a new question before the follow-up suggestions are checked: a reader reads the answer first."""
STOPPED = "Stopped before the answer was complete; its sources are not shown."
"""The notice on an answer the reader stopped (kept in the conversation, shown with the partial text)."""
VOTE_WORDS = {"up": "thumbs up", "down": "thumbs down"}
"""Words, not emoji: a machine without an emoji font shows those as empty boxes."""


class WebApp:
    """The page's handlers, bound to one Assistant and one Indexer sharing its store and embedding model."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None, index_paths: Sequence[str] = (),
                 watcher: Watcher | None = None, indexer: Indexer | None = None) -> None:
        self.settings = settings
        self.upload_cache = private_upload_cache(settings)
        """Where Gradio stores uploads; set before ``blocks`` builds the page, since Gradio reads it then."""
        self.assistant = assistant or Assistant(settings)
        self.indexer = indexer or indexer_for(self.assistant)
        self.index_paths = [str(p) for p in index_paths]
        self.watcher = watcher
        self.feedback = FeedbackLog(settings.home)
        self.votes: dict[str, tuple[int, str, Answer, str]] = {}
        """Per browser session, the vote waiting for its optional comment: (turn, question, answer, "up"/"down")."""
        self.votes_lock = threading.Lock()
        self.secret = conversations.browser_secret(settings.home)
        self.partial: dict[str, tuple[int, str, str]] = {}
        """Per browser session, the answer streaming now: (turns before it, question, text so far). Left behind when
        Stop closes ``respond``, for ``settle`` to keep the partial answer."""

    # -- chat ----------------------------------------------------------------------------------------------------

    def respond(self, message: str, state: ChatState | None, since: str | None, until: str | None,
                sources: list[str] | None, key: str = "") -> Iterator[tuple[Any, ...]]:
        """Streams one answer into the chat; yields (chatbot, sources panel, state, input box), once per piece.

        ``since``/``until`` are what the reader typed in From/To, read by ``parse_range`` like the CLI's and the
        API's: a value it can't read is refused in the chat, and no answer is computed. ``key``: the browser
        session, under which the text so far is kept in ``partial`` until the answer completes.

        Stop (Gradio's ``cancels``) closes this generator at a ``yield``; the ``closing`` block then closes
        ``Assistant.ask_stream`` in its thread, which closes the LLM's HTTP stream."""
        state = list(state or [])
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), state, ""
            return
        try:
            check_question(question, self.settings)
        except QuestionError as exc:  # said before the question is echoed: it may be megabytes long
            shown = self.messages(state) + [{"role": "assistant", "content": render.md_escape(f"Not asked: {exc}.")}]
            yield shown, gr.skip(), state, gr.skip()
            return
        turn = len(state) + 1
        shown = self.messages(state) + [{"role": "user", "content": render.question_markdown(question)},
                                        {"role": "assistant", "content": "*Searching the articles…*"}]
        try:
            since_d, until_d = parse_range(since, until, ("From", "To"), self.assistant.today())
        except DateError as exc:
            shown[-1] = {"role": "assistant", "content": render.md_escape(str(exc))}
            yield shown, gr.skip(), state, message
            return
        history = [Turn(q, a.text) for q, a in state]
        text = ""
        self.partial[key] = (len(state), question, text)
        try:
            # started before the question is shown: the page's first update and the answer overlap
            with closing(InThread(lambda: self.assistant.ask_stream(question, history, since_d, until_d,
                                                                    list(sources or []) or None))) as events:
                yield list(shown), gr.skip(), state, ""
                for ready in events:
                    answer = next((event for event in ready if isinstance(event, Answer)), None)
                    if not ready:  # no piece yet: a chance for Stop to close this generator
                        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
                    elif answer is None:  # the pieces that came since the last update: sentences, or tokens
                        text += "".join(event.text for event in ready if isinstance(event, Delta))
                        self.partial[key] = (len(state), question, text)
                        shown[-1] = {"role": "assistant", "content": render.answer_markdown(text, [], turn)}
                        yield list(shown), gr.skip(), state, ""
                    else:
                        self.partial.pop(key, None)
                        state = [*state, (question, answer)]
                        shown[-1] = {"role": "assistant", "content": render.answer_markdown(
                            answer.text, answer.citations, turn, answer.notice)}
                        yield shown, self.sources(state), state, ""
        except Exception as exc:  # a clear message for the reader, the traceback for the server log
            self.partial.pop(key, None)
            log.exception("answering %r failed", question)
            shown[-1] = {"role": "assistant", "content": render.md_escape(
                f"Sorry, the answer failed ({type(exc).__name__}). The server log has the details.")}
            yield shown, gr.skip(), state, ""

    def question_asked(self, message: str, state: ChatState | None, since: str | None, until: str | None,
                       sources: list[str] | None, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """The Ask event: ``respond``'s updates, then the controls (``controls``) set for answering."""
        first = True
        for update in self.respond(message, state, since, until, sources, request.session_hash or ""):
            yield (*update, *(self.controls(True, []) if first else (gr.skip(),) * CONTROLS))
            first = False

    def regenerate(self, state: ChatState | None, thumbs: dict[int, str] | None, since: str | None,
                   until: str | None, sources: list[str] | None, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """Asks the last question again, its new answer in place of the old one (the filters as they are now).

        The old answer's thumb goes (a vote still waiting for its comment is written first): it was about that
        answer. Yields (chatbot, panel, state, thumbs, comment row, status line, *controls)."""
        state, key = list(state or []), request.session_hash or ""
        if not state:
            yield (*(gr.skip(),) * 6, *self.controls(False, state))
            return
        self.flush_vote(key)
        thumbs = {t: v for t, v in (thumbs or {}).items() if t < len(state) - 1}
        first = True
        for chat, panel, new_state, _ in self.respond(state[-1][0], state[:-1], since, until, sources, key):
            if first:
                chat = gr.update(value=chat, feedback_value=[thumbs.get(t) for t in range(len(state))]) \
                    if isinstance(chat, list) else chat
                panel = panel if isinstance(panel, str) else self.sources(state[:-1])  # the old answer's go
                yield (chat, panel, new_state, thumbs, gr.update(visible=False), render.feedback_html(""),
                       *self.controls(True, []))
                first = False
            else:
                yield chat, panel, new_state, *(gr.skip(),) * (3 + CONTROLS)

    def settle(self, book: Book | None, state: ChatState | None, thumbs: dict[int, str] | None,
               request: gr.Request) -> tuple[Any, ...]:
        """After every answer, completed, failed or stopped: a stopped answer's text so far becomes its turn
        (marked ``STOPPED``), the conversation is saved in the book and the browser's copy, the controls are freed.

        Runs as the answer event's ``.then``, which Gradio's page also runs after a cancel (once ``/cancel`` has
        closed ``respond``). Returns (chatbot, panel, state, book, browser copy, title, *controls, download): all in
        one update, so the controls and the download are ready together."""
        book, state, thumbs = book or Book(), list(state or []), dict(thumbs or {})
        chat = panel = gr.skip()
        partial = self.partial.pop(request.session_hash or "", None)
        if partial is not None and partial[0] == len(state):
            _, question, text = partial
            state.append((question, Answer(question, text, [], False, self.assistant.mode, STOPPED)))
            chat = gr.update(value=self.messages(state), feedback_value=[thumbs.get(t) for t in range(len(state))])
            panel = self.sources(state)
        if state:
            book = conversations.save(book, book.open, state, thumbs)
        return (chat, panel, state, book, conversations.dump(book), self.title(book),
                *self.controls(False, state, book), self.conversation_file(state))

    def controls(self, busy: bool, state: ChatState, book: Book | None = None) -> tuple[Any, ...]:
        """(Stop, Regenerate, conversation list, Rename, Delete, New conversation): while an answer streams only
        Stop works, so nothing changes the conversation under it; ``book`` given: the list is redrawn, and Rename
        and Delete work only on a saved conversation."""
        idle = gr.update(interactive=not busy)
        if book is None:
            listing = editing = idle
        else:
            listing = gr.update(choices=conversations.choices(book), value=book.open or None, interactive=not busy)
            editing = gr.update(interactive=not busy and bool(book.open))
        return gr.update(interactive=busy), gr.update(interactive=not busy and bool(state)), listing, editing, \
            editing, idle

    @staticmethod
    def title(book: Book) -> Any:
        conv = conversations.find(book, book.open)
        return gr.update(value=conv.title if conv else "", interactive=conv is not None)

    def show(self, book: Book) -> tuple[Any, ...]:
        """The book's open conversation (none: a new one) on the page.

        Returns (book, browser copy, chatbot, panel, state, thumbs, title, comment row, status line, *controls,
        download)."""
        conv = conversations.find(book, book.open)
        state, thumbs = (list(conv.turns), dict(conv.votes)) if conv else ([], {})
        chat = gr.update(value=self.messages(state), feedback_value=[thumbs.get(t) for t in range(len(state))])
        return (book, conversations.dump(book), chat, self.sources(state), state, thumbs, self.title(book),
                gr.update(visible=False), render.feedback_html(""), *self.controls(False, state, book),
                self.conversation_file(state))

    def restore(self, saved: Any) -> tuple[Any, ...]:
        """On page load: the conversations the browser kept (what does not parse is dropped), the open one shown."""
        return self.show(conversations.load(saved))

    def open_conversation(self, book: Book | None, cid: str | None, request: gr.Request) -> tuple[Any, ...]:
        self.flush_vote(request.session_hash or "")
        return self.show(conversations.opened(book or Book(), cid or ""))

    def delete_conversation(self, book: Book | None, request: gr.Request) -> tuple[Any, ...]:
        """Deletes the open conversation (from this browser: the server keeps none); a new one is shown."""
        self.flush_vote(request.session_hash or "")
        book = book or Book()
        return self.show(conversations.delete(book, book.open))

    def rename_conversation(self, book: Book | None, title: str | None) -> tuple[Any, ...]:
        """Returns (book, browser copy, title, list)."""
        book = book or Book()
        if not conversations.find(book, book.open):
            return book, gr.skip(), gr.update(value=""), gr.skip()
        book = conversations.rename(book, book.open, title or "")
        return book, conversations.dump(book), self.title(book), self.controls(False, [], book)[2]

    def save_votes(self, book: Book | None, state: ChatState | None, thumbs: dict[int, str] | None) -> tuple[Any, Any]:
        """After a thumb: the open conversation saved with it, so a reload shows it pressed."""
        book = book or Book()
        if not state or not conversations.find(book, book.open):
            return gr.skip(), gr.skip()
        book = conversations.save(book, book.open, list(state), dict(thumbs or {}))
        return book, conversations.dump(book)

    def follow_ups(self, state: ChatState | None, since: str | None, until: str | None,
                   sources: list[str] | None) -> tuple[Any, ...]:
        """Up to three questions under the latest answer, each checked to be answered from the articles
        (``assistant.followups``: 0.3-1 s on the sample), run after the answer is shown so it never waits for them.

        Begun only once no question has been asked for ``FOLLOW_UP_QUIET`` seconds, and cut short when one is asked
        meanwhile: checks that ran while the reader asked again at once had made that answer about 40 ms slower
        (bench/web_latency.py --pause 0). Returns (row, *buttons)."""
        state = list(state or [])
        found: list[str] = []
        if state and state[-1][1].notice != STOPPED and self.quiet(FOLLOW_UP_QUIET):
            try:
                since_d, until_d = parse_range(since, until, ("From", "To"), self.assistant.today())
                found = suggest(self.assistant, state[-1][1], Scope(since_d, until_d, tuple(sources or ())),
                                keep_going=lambda: not self.partial)  # no answer streaming, in any session
            except DateError:
                found = []
        buttons = [gr.update(value=q, visible=True) for q in found]
        buttons += [gr.update(value="", visible=False)] * (MAX_SUGGESTIONS - len(found))
        return gr.update(visible=bool(found)), *buttons

    def quiet(self, seconds: float) -> bool:
        """Whether no answer starts streaming, in any session, within ``seconds``."""
        deadline = time.monotonic() + seconds
        while not self.partial:
            if time.monotonic() >= deadline:
                return True
            time.sleep(TICK / 2)
        return False

    @staticmethod
    def no_follow_ups() -> tuple[Any, ...]:
        """Hides the suggestions while another answer is on its way or another conversation is shown."""
        return gr.update(visible=False), *([gr.update(visible=False)] * MAX_SUGGESTIONS)

    @staticmethod
    def sources(state: ChatState) -> str:
        """The sources panel; each answer's group carries its copy-with-sources text."""
        return render.sources_html(state, [export.answer_markdown(answer) for _, answer in state])

    @staticmethod
    def messages(state: ChatState) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for turn, (question, answer) in enumerate(state, 1):
            out.append({"role": "user", "content": render.question_markdown(question)})
            out.append({"role": "assistant",
                        "content": render.answer_markdown(answer.text, answer.citations, turn, answer.notice)})
        return out

    def ask_api(self, question: str, history: list[list[str]] | None = None, since: str = "", until: str = "",
                sources: list[str] | None = None) -> dict:
        """Gradio API (``gradio_client``): one answer as JSON, with citations; history is [question, answer] pairs."""
        turns = [Turn(str(q), str(a)) for q, a in (history or [])]
        try:
            since_d, until_d = parse_range(since, until, ("since", "until"), self.assistant.today())
            answer = self.assistant.ask(question, turns, since_d, until_d, list(sources or []) or None)
        except (DateError, QuestionError) as exc:
            raise gr.Error(str(exc)) from None
        return answer.to_json(asked=question)

    def read_filters(self, since: str | None, until: str | None, sources: list[str] | None) -> tuple[str, str]:
        """The filters as they will be read (on Enter or leaving a date field, or a source picked): the period or
        why not, under the fields; and the filters in use, under the question box."""
        try:
            first, last = parse_range(since, until, ("From", "To"), self.assistant.today())
        except DateError as exc:
            return render.dates_html(error=str(exc)), render.filters_in_use_html(error=str(exc))
        return render.dates_html(first, last), render.filters_in_use_html(first, last, sources or [])

    # -- feedback and export ---------------------------------------------------------------------------------------

    def vote(self, state: ChatState | None, thumbs: dict[int, str] | None, request: gr.Request,
             like: gr.LikeData) -> tuple[Any, ...]:
        """A thumb on an answer: held for an optional comment (comment row shown), written by ``comment``.

        A vote already waiting is written as it is first, so a vote is never lost to the next one; an un-vote (the
        thumb clicked again) drops a vote still waiting. ``thumbs`` (turn → "Like"/"Dislike") goes back to the
        Chatbot as ``feedback_value``: without it every new answer re-draws the earlier thumbs as not pressed.
        Returns (comment row, status line, comment box, chatbot, thumbs)."""
        state, thumbs = state or [], dict(thumbs or {})
        index = like.index if isinstance(like.index, int) else -1
        turn = index // 2  # ``messages``: each turn is the question, then the answer
        if index % 2 != 1 or not 0 <= turn < len(state):  # not a completed answer (a refusal, one still streaming)
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        key = request.session_hash or ""
        if like.liked not in (True, False):
            thumbs.pop(turn, None)
            with self.votes_lock:
                if key in self.votes and self.votes[key][0] == turn:
                    del self.votes[key]
            return (gr.update(visible=False), render.feedback_html(""), gr.skip(), self.thumbs_shown(state, thumbs),
                    thumbs)
        self.flush_vote(key)
        vote = "up" if like.liked else "down"
        thumbs[turn] = "Like" if like.liked else "Dislike"
        with self.votes_lock:
            self.votes[key] = (turn, *state[turn], vote)
        return (gr.update(visible=True), render.feedback_html(
            f"You gave answer {turn + 1} a {VOTE_WORDS[vote]}: add a comment, or press No comment."),
            gr.update(value=""), self.thumbs_shown(state, thumbs), thumbs)

    @staticmethod
    def thumbs_shown(state: ChatState, thumbs: dict[int, str]) -> Any:
        return gr.update(feedback_value=[thumbs.get(turn) for turn in range(len(state))])

    def comment(self, text: str | None, request: gr.Request) -> tuple[Any, Any, Any]:
        """Writes the waiting vote with the comment (empty for No comment); hides the comment row."""
        written = self.flush_vote(request.session_hash or "", text or "")
        note = f"Thanks: your {VOTE_WORDS[written]} was saved." if written else ""
        return gr.update(visible=False), render.feedback_html(note), gr.update(value="")

    def no_comment(self, request: gr.Request) -> tuple[Any, Any, Any]:
        return self.comment("", request)

    def flush_vote(self, key: str, comment: str = "") -> str | None:
        """Writes the session's waiting vote, if any; returns it ("up"/"down")."""
        with self.votes_lock:
            waiting = self.votes.pop(key, None)
        if waiting is None:
            return None
        _, question, answer, vote = waiting
        try:
            self.feedback.record(question=question, standalone_question=answer.question, answer=answer.text,
                                 citations=answer.citations, mode=answer.mode, vote=vote, comment=comment)
        except OSError:  # a full disk loses a vote, never the chat
            log.exception("writing feedback to %s failed", self.feedback.path)
            return None
        return vote

    def session_closed(self, request: gr.Request) -> None:
        """The tab was closed: a vote still waiting for its comment is written without one; an answer cut short by
        the closing is forgotten (the browser that would keep it is gone)."""
        self.flush_vote(request.session_hash or "")
        self.partial.pop(request.session_hash or "", None)

    def new_conversation(self, book: Book | None, request: gr.Request) -> tuple[Any, ...]:
        """Clears the chat (the conversation so far stays in the list); a vote still waiting is written.

        Returns ``show``'s outputs."""
        self.flush_vote(request.session_hash or "")
        return self.show(conversations.opened(book or Book(), ""))

    def conversation_file(self, state: ChatState | None) -> Any:
        """The download button's file: the conversation so far as Markdown, in the private upload cache.

        Written after every answer (by ``settle``) and whenever a conversation is shown (measured: 3 ms for 20 turns,
        29 KB): the button downloads what it holds when clicked, so the file must exist before the click."""
        if not state:
            return gr.update(value=None, interactive=False)
        day = self.assistant.today()
        folder = Path(tempfile.mkdtemp(prefix="export-", dir=self.upload_cache))
        path = folder / export.conversation_file_name(day)
        path.write_text(export.conversation_markdown(state, day), encoding="utf-8")
        return gr.update(value=str(path), interactive=True)

    def newest(self) -> str:
        """The newest article's day (not counting any dated after today), for the calendar's first month."""
        horizon = self.assistant.today() + timedelta(days=DAY_GRACE)
        return render.newest_html(self.assistant.retriever.published_days().newest(not_after=horizon))

    # -- library -------------------------------------------------------------------------------------------------

    def library(self) -> tuple[str, Any, str]:
        status = collect_status(self.settings, self.assistant.store)
        choices = render.source_choices(status.sources)
        return render.library_html(status), gr.update(choices=choices), self.mode()

    def mode(self) -> str:
        return render.mode_html(self.assistant.mode, self.settings.openai_base_url)

    def reindex_paths(self) -> list[str]:
        self.settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        return list(dict.fromkeys([str(self.settings.uploads_dir), *self.index_paths]))

    def reindex(self) -> Iterator[tuple[Any, ...]]:
        """Syncs the uploads folder and the folders given at start-up; the chat keeps answering meanwhile."""
        yield from self._indexing("Re-index", lambda progress: self.indexer.sync(self.reindex_paths(), progress))

    def upload(self, files: list[str] | None) -> Iterator[tuple[Any, ...]]:
        saved, rejected = [], []
        for path in files or []:
            name = Path(path).name
            try:
                saved.append(save_upload(path, name, self.settings).path)
            except (UploadError, OSError) as exc:
                rejected.append((name, str(exc)))
            finally:
                Path(path).unlink(missing_ok=True)  # copied or refused: Gradio's cache need not keep it
        if not saved and not rejected:
            yield render.error_html("No file chosen."), gr.skip(), gr.skip(), None
            return
        for html, lib, choices in self._indexing("Upload", lambda p: self.indexer.sync(saved, p) if saved
                                                 else SyncReport(), rejected):
            yield html, lib, choices, None

    def _indexing(self, label: str, run: Callable[[Callable[[Progress], None]], SyncReport],
                  rejected: Sequence[tuple[str, str]] = ()) -> Iterator[tuple[Any, Any, Any]]:
        """Runs a sync in a worker thread and streams its progress, then the per-article result."""
        updates: queue.Queue[Progress | None] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["report"] = run(updates.put)
            except Exception as exc:
                log.exception("%s failed", label)
                outcome["error"] = exc
            finally:
                updates.put(None)

        threading.Thread(target=work, name=f"newsdesk-{label.lower()}", daemon=True).start()
        yield render.progress_html(label, 0, 0, 0, 0), gr.skip(), gr.skip()
        latest: Progress | None = None
        sent = time.monotonic()
        while True:
            try:
                item = updates.get(timeout=PROGRESS_EVERY)
            except queue.Empty:
                item = latest
            else:
                if item is None:
                    break
                latest = item
                if time.monotonic() - sent < PROGRESS_EVERY:
                    continue
            if item is not None:
                sent = time.monotonic()
                yield render.progress_html(label, item.files_done, item.files_total, item.articles, item.chunks), \
                    gr.skip(), gr.skip()
        library, choices, _ = self.library()
        if "error" in outcome:
            exc = outcome["error"]
            yield render.error_html(f"{label} failed: {type(exc).__name__}: {exc}"), library, choices
        else:
            yield render.report_html(label, outcome["report"], rejected), library, choices

    # -- page ----------------------------------------------------------------------------------------------------

    def blocks(self) -> gr.Blocks:
        with gr.Blocks(title="newsdesk", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
            with gr.Sidebar(label="Conversations", open=False, width=290, elem_id="nd-sidebar"):
                gr.Markdown("### Conversations")
                listing = gr.Radio(choices=[], label="Saved in this browser, latest first", elem_id="nd-conversations")
                title = gr.Textbox(label="Title of the open conversation", elem_id="nd-conv-title", max_lines=1,
                                   max_length=conversations.MAX_TITLE_CHARS, interactive=False,
                                   placeholder="Saved with its first answer")
                with gr.Row():
                    rename = gr.Button("Rename", size="sm", elem_id="nd-conv-rename", min_width=80)
                    delete = gr.Button("Delete", size="sm", variant="stop", elem_id="nd-conv-delete", min_width=80)
                gr.Markdown(f"Kept in this browser only (up to {conversations.MAX_CONVERSATIONS}; the least recently "
                            "used go first).", elem_id="nd-conv-note")
            with gr.Row(equal_height=False, elem_id="nd-header"):
                gr.Markdown("# newsdesk — ask your news articles", elem_id="nd-title")
                mode = gr.HTML(elem_id="nd-mode")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    # No per-message copy: it copies the escaped Markdown source; the sources panel's button
                    # copies the answer with its sources (``export``).
                    # Height from the screen, not a fixed 520 px: the question box stays in view on a laptop and a
                    # phone; no floating "Chat" label over the first message.
                    chatbot = gr.Chatbot(label="Chat", show_label=False, elem_id="nd-chat",
                                         height="clamp(260px, calc(100dvh - 290px), 640px)", latex_delimiters=[],
                                         sanitize_html=True, buttons=[], feedback_options=("Like", "Dislike"),
                                         placeholder="Ask about the indexed articles. Answers cite passages [n].")
                    with gr.Row(visible=False, elem_id="nd-feedback-row", equal_height=True) as feedback_row:
                        comment = gr.Textbox(placeholder="Comment on this answer (optional), Enter to send",
                                             show_label=False, elem_id="nd-comment", scale=5, max_lines=3,
                                             max_length=2000)
                        comment_send = gr.Button("Send", size="sm", elem_id="nd-comment-send", scale=1, min_width=70)
                        comment_skip = gr.Button("No comment", size="sm", elem_id="nd-comment-skip", scale=1,
                                                 min_width=100)
                    feedback_note = gr.HTML(render.feedback_html(""), elem_id="nd-feedback", js_on_load=None)
                    with gr.Row(visible=False, elem_id="nd-followups") as followup_row:
                        gr.HTML('<span class="nd-followups-label">Follow up:</span>', elem_id="nd-followups-label",
                                padding=False)
                        followups = [gr.Button("", size="sm", visible=False, elem_id=f"nd-followup-{i}",
                                               elem_classes="nd-followup", scale=0) for i in range(MAX_SUGGESTIONS)]
                    with gr.Row():
                        box = gr.Textbox(placeholder="e.g. How many missiles hit Kyiv?",  # one line on a 390 px phone
                                         label="Question", show_label=False, elem_id="nd-question", scale=5,
                                         autofocus=True, max_length=self.settings.max_question_chars)
                        send = gr.Button("Ask", variant="primary", elem_id="nd-ask", scale=1, min_width=80)
                        stop = gr.Button("Stop", variant="stop", elem_id="nd-stop", scale=0, min_width=70,
                                         interactive=False)
                    in_use = gr.HTML("", elem_id="nd-in-use", padding=False, js_on_load=None)
                    with gr.Row():
                        clear = gr.Button("New conversation", size="sm", elem_id="nd-clear")
                        download = gr.DownloadButton("Download conversation (.md)", size="sm", interactive=False,
                                                     elem_id="nd-download")
                        regenerate = gr.Button("Regenerate last answer", size="sm", interactive=False,
                                               elem_id="nd-regenerate")
                # Sources, Filters and Library as tabs: each one click away on a 1366×768 screen (stacked under the
                # chat, the filters started at 748 px and the library below them). Gradio 6.31 mounts a tab's content
                # when it is first shown (its render_children=True changes nothing, measured); a [n] clicked while
                # another tab shows opens Sources first (style.HEAD). min_width: a date refusal fits one line.
                with gr.Column(scale=2, min_width=560, elem_id="nd-side"), gr.Tabs(elem_id="nd-tabs"):
                    with gr.Tab("Sources", id="sources", elem_id="nd-tab-sources"):
                        panel = gr.HTML(render.sources_html([]), label="Sources", elem_id="nd-sources", padding=True)
                    with gr.Tab("Filters", id="filters", elem_id="nd-tab-filters"):
                        with gr.Row(elem_id="nd-filters"):
                            # Text, not gr.DateTime: its browser-side check greys out "last week" and never sends it.
                            since = self.date_field("From date", "nd-since", "2024-12-01 or last week")
                            until = self.date_field("To date", "nd-until", "2024-12-31 or yesterday")
                            sources = gr.Dropdown(label="Sources", multiselect=True, choices=[],
                                                  elem_id="nd-source-filter", info="none selected = all")
                        with gr.Row(elem_id="nd-dates-row"):
                            dates = gr.HTML(render.dates_html(), elem_id="nd-dates", js_on_load=None)
                            newest = gr.HTML(elem_id="nd-newest", js_on_load=None)
                    with gr.Tab("Library", id="library", elem_id="nd-tab-library"):
                        library = gr.HTML(elem_id="nd-library")
                        reindex = gr.Button("Re-index", elem_id="nd-reindex")
                        files = gr.File(label=f"Upload articles ({' '.join(ALLOWED)}; up to "
                                        f"{self.settings.upload_max_mb:g} MB each)", file_count="multiple",
                                        file_types=list(ALLOWED), type="filepath", elem_id="nd-upload")
                        result = gr.HTML(elem_id="nd-index-result")
            state = gr.State([])
            thumbs = gr.State({})
            book = gr.State(conversations.Book())
            """This session's copy of the saved conversations: the browser's is read once, at load."""
            saved = gr.BrowserState(None, storage_key=conversations.storage_key(self.secret), secret=self.secret)

            controls = [stop, regenerate, listing, rename, delete, clear]
            shown = [book, saved, chatbot, panel, state, thumbs, title, feedback_row, feedback_note, *controls,
                     download]
            private: dict[str, Any] = dict(api_visibility="private")
            chat_args: dict[str, Any] = dict(concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat", **private)
            answering = [trigger(self.question_asked, [box, state, since, until, sources],
                                 [chatbot, panel, state, box, *controls], **chat_args)
                         for trigger in (box.submit, send.click)]
            answering += [button.click(self.question_asked, [button, state, since, until, sources],
                                       [chatbot, panel, state, box, *controls], **chat_args) for button in followups]
            answering.append(regenerate.click(self.regenerate, [state, thumbs, since, until, sources],
                                              [chatbot, panel, state, thumbs, feedback_row, feedback_note, *controls],
                                              **chat_args))
            suggestions = [followup_row, *followups]
            for event in answering:  # ``.then`` runs after a Stop too (Gradio's page runs it once /cancel returns)
                event.then(self.settle, [book, state, thumbs],
                           [chatbot, panel, state, book, saved, title, *controls, download], queue=False, **private
                           ).then(self.follow_ups, [state, since, until, sources], suggestions, **private)
            for trigger in (box.submit, send.click, regenerate.click, clear.click, delete.click, listing.input,
                            *(button.click for button in followups)):
                trigger(self.no_follow_ups, None, suggestions, queue=False, **private)
            stop.click(None, None, None, cancels=answering, queue=False, **private)
            demo.load(self.restore, saved, shown, **private)
            listing.input(self.open_conversation, [book, listing], shown, **private)
            delete.click(self.delete_conversation, book, shown, **private)
            for trigger in (rename.click, title.submit):
                trigger(self.rename_conversation, [book, title], [book, saved, title, listing], queue=False, **private)
            chatbot.like(self.vote, [state, thumbs], [feedback_row, feedback_note, comment, chatbot, thumbs],
                         api_visibility="private", queue=False).then(self.save_votes, [book, state, thumbs],
                                                                     [book, saved], queue=False, **private)
            for trigger in (comment.submit, comment_send.click):
                trigger(self.comment, comment, [feedback_row, feedback_note, comment], api_visibility="private",
                        queue=False)
            comment_skip.click(self.no_comment, None, [feedback_row, feedback_note, comment],
                               api_visibility="private", queue=False)
            demo.unload(self.session_closed)
            for event in (since.submit, since.blur, until.submit, until.blur, sources.change):
                event(self.read_filters, [since, until, sources], [dates, in_use], api_visibility="private",
                      queue=False)
            for trigger in (clear.click, chatbot.clear):
                trigger(self.new_conversation, book, shown, api_visibility="private")
            library_outputs = [result, library, sources]
            refreshes = [
                reindex.click(self.reindex, None, library_outputs, concurrency_limit=1, concurrency_id="library",
                              api_visibility="private"),
                files.upload(self.upload, files, [*library_outputs, files], concurrency_limit=1,
                             concurrency_id="library", api_visibility="private"),
                demo.load(self.library, None, [library, sources, mode], api_visibility="private"),
            ]
            if self.watcher is not None:  # watched folders and feeds change the library behind the page's back
                refreshes.append(gr.Timer(WATCH_REFRESH).tick(self.library, None, [library, sources, mode],
                                                              api_visibility="private"))
            for refresh in refreshes:  # a changed library may have a newer newest article
                refresh.then(self.newest, None, newest, api_visibility="private", queue=False)
            gr.api(self.ask_api, api_name="ask", concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")
        return demo

    @staticmethod
    def date_field(label: str, elem_id: str, example: str) -> gr.Textbox:
        """A From/To field: the text goes as typed to ``parse_range``; the calendar button beside it only fills it."""
        with gr.Column(min_width=170, elem_classes="nd-date"):  # the button sits inside the field's right end
            field = gr.Textbox(label=label, placeholder=example, elem_id=elem_id, max_lines=1, max_length=100)
            gr.HTML(render.date_picker_html(elem_id, label), elem_id=f"{elem_id}-pick", elem_classes="nd-pick-box",
                    js_on_load=None)
        return field


class _Raised:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class InThread:
    """``make()``'s items, produced in a worker thread from the moment this is made; iterated in batches: all the
    items ready at once, an empty batch every ``tick`` seconds while none is.

    Gradio stops a streaming handler by closing its generator, which it can do only between two ``next`` calls
    (``SyncToAsyncIterator.aclose`` retries for up to 60 s while the generator is executing). A handler iterating
    the assistant itself is inside ``next`` while retrieval runs or the model has not sent its next token; one
    iterating this is back within ``tick``. ``close`` tells the worker to stop: it closes ``make()``'s iterator when
    the item it waits for arrives (for the LLM: the next token), which closes the HTTP stream.

    Batches, because every update is a round trip through the page: the offline answer's sentences and the answer
    itself come within milliseconds of each other, and showing each apiece made answers slower to complete in the
    browser (bench/web_latency.py)."""

    def __init__(self, make: Callable[[], Iterator[Any]], tick: float = TICK) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self.stop = threading.Event()
        self.tick = tick
        threading.Thread(target=self._work, args=(make,), name="newsdesk-answer", daemon=True).start()

    def _work(self, make: Callable[[], Iterator[Any]]) -> None:
        source: Iterator[Any] | None = None
        try:
            source = make()
            for item in source:
                if self.stop.is_set():
                    break
                self.items.put(item)
        except Exception as exc:  # raised again in the handler's thread, where the reader is told
            self.items.put(_Raised(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            self.items.put(_DONE)

    def __iter__(self) -> Iterator[list[Any]]:
        while True:
            try:
                ready = [self.items.get(timeout=self.tick)]
            except queue.Empty:
                yield []
                continue
            while not self.items.empty():
                ready.append(self.items.get_nowait())
            end = next((i for i, item in enumerate(ready) if item is _DONE or isinstance(item, _Raised)), None)
            if end is None:
                yield ready
                continue
            if end:
                yield ready[:end]
            if isinstance(ready[end], _Raised):
                raise ready[end].exc
            return

    def close(self) -> None:
        self.stop.set()


_DONE = object()


def indexer_for(assistant: Assistant) -> Indexer:
    """An indexer writing to the assistant's store with its own embedding model instance.

    Not the assistant's: the model runs one batch list at a time under a lock, so a shared one would make every
    question wait for the whole re-index to be embedded (measured: 12 s instead of 0.2 s for retrieval while 160
    articles were indexed). A second instance costs ~25 MB and lets questions run alongside.
    """
    return Indexer(assistant.settings, store=assistant.store, embedder=make_embedder(assistant.settings))
