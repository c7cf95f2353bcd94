"""The ``newsdesk`` command. Every subcommand calls the same Python API as the web app and the tests."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from assistant.dates import DateError, parse_range
from assistant.limits import QuestionError
from assistant.report import report_lines
from assistant.settings import Settings, load_settings
from index import Failure, Indexer, Progress, StoreError, SyncReport
from index.pipeline.embedding import EmbeddingError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141
"""What a shell reports for a command killed by SIGPIPE, as `yes | head` does."""

Command = Callable[[argparse.Namespace, Settings], int]
_COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        _COMMANDS[name] = fn
        return fn

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description="Answers about your news articles, with citations.")
    parser.add_argument("--home", help="data home (default: $NEWSDESK_HOME or the per-user data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index files, folders (recursively), JSONL files or article URLs")
    p.add_argument("paths", nargs="+", help="files, folders or http(s) URLs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("status", help="what is indexed, where, with which model, and when it was last synced")

    p = sub.add_parser("search", help="passages only, best first")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    _filters(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="answer a question with cited passages")
    p.add_argument("question")
    _filters(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--offline", action="store_true", help="extractive answer even when an LLM is configured")

    p = sub.add_parser("chat", help="a conversation in the terminal, with follow-up questions")
    _filters(p)

    p = sub.add_parser("serve", help="start the web chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--watch", action="append", default=[], metavar="FOLDER", help="keep a folder indexed")
    p.add_argument("--feed", action="append", default=[], metavar="URL", help="keep an RSS/Atom feed indexed")
    p.add_argument("--index", action="append", default=[], metavar="PATH", help="index this before serving")

    p = sub.add_parser("watch", help="keep folders and feeds indexed as articles arrive")
    p.add_argument("sources", nargs="+", help="folders, files or RSS/Atom feed URLs")

    p = sub.add_parser("eval", help="retrieval and answer quality on a question file")
    p.add_argument("qa_file")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--no-answers", action="store_true", help="retrieval only: skip answering each question")
    p.add_argument("--json", action="store_true")
    return parser


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    for noisy in ("httpx", "chromadb", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(logging.WARNING if args.verbose else logging.ERROR)
    overrides: dict[str, Any] = {"home": args.home} if args.home else {}
    try:
        settings = load_settings(**overrides)
        return _COMMANDS[args.command](args, settings)
    except (StoreError, EmbeddingError, UsageError, QuestionError, DateError) as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NothingIndexed as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nnewsdesk: interrupted; the next run completes what was left", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `newsdesk search --json | head`: the reader has gone, which is not an error worth a traceback. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE


@command("index")
def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.sources.remote import Fetcher, FetchError, fetch_article, is_url, url_refusal

    urls = [p for p in args.paths if is_url(p)]
    # file:///etc/hosts or gopher://x/ is a URL of the wrong kind, not a missing file (unless such a path exists)
    refused = {p: reason for p in args.paths if (reason := url_refusal(p)) and not os.path.lexists(p)}
    paths = [p for p in args.paths if not is_url(p) and p not in refused]
    try:
        fetcher = Fetcher(settings) if urls else None
    except ValueError as exc:  # a bad NEWSDESK_ALLOW_NETWORKS
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    indexer = Indexer(settings)
    bar = _progress_bar(args.quiet)
    report = indexer.sync(paths, progress=bar.update) if paths else SyncReport()
    bar.close()
    for arg, reason in refused.items():
        report.fail(Failure(arg, reason))
    if fetcher is not None:
        articles = []
        with fetcher:
            for url in urls:
                try:
                    articles.append(fetch_article(url, settings, fetcher))
                except FetchError as exc:
                    report.failures.append(Failure(url, str(exc)))
        report.merge(indexer.sync_articles(articles))
    for line in report_lines(report, everything=args.verbose):
        print(line)
    return EXIT_FAILED if report.failures else EXIT_OK


class _progress_bar:
    """Articles and chunks while indexing, on stderr; silent when asked or when there is nothing to show."""

    def __init__(self, quiet: bool) -> None:
        self._bar: Any = None
        self._quiet = quiet

    def update(self, p: Progress) -> None:
        if self._quiet:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=p.files_total or None, unit="file", file=sys.stderr, leave=False)
        self._bar.n = p.files_done
        self._bar.set_postfix(articles=p.articles, chunks=p.chunks, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@command("status")
def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.feedback import FeedbackLog
    from index.pipeline.status import collect_status

    status = collect_status(settings)
    print(status.render())
    print(f"feedback:        {FeedbackLog(settings.home).counts().render()}")
    return EXIT_OK


@command("watch")
def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from index.sources.remote import is_url
    from index.sources.watch import Watcher, WatchError

    odd = [s for s in args.sources if "://" in s and not is_url(s)]
    if odd:
        print(f"newsdesk: feeds must be http(s) URLs: {', '.join(odd)}", file=sys.stderr)
        return EXIT_USAGE
    feeds = [s for s in args.sources if is_url(s)]
    folders = [s for s in args.sources if not is_url(s)]
    try:
        watcher = Watcher(settings, Indexer(settings), folders=folders, feeds=feeds,
                          on_sync=lambda event: print(event.line(), flush=True))
    except (WatchError, ValueError) as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"watching {len(folders)} folder(s)/file(s) and {len(feeds)} feed(s); Ctrl-C to stop", file=sys.stderr)
    watcher.start()
    try:
        watcher.wait()
    except KeyboardInterrupt:
        print("stopping…", file=sys.stderr)
    finally:
        watcher.stop()
    return EXIT_OK


@command("serve")
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.launcher import serve
    from assistant.web.auth import AuthConfigError
    from index.sources.watch import WatchError

    try:
        return serve(settings, args.host, args.port, args.index, args.watch, args.feed)
    except (AuthConfigError, WatchError) as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE


@command("eval")
def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from pathlib import Path

    from assistant import Assistant
    from assistant.evaluate import evaluate, read_questions

    path = Path(args.qa_file)
    if not path.is_file():
        print(f"newsdesk: no such question file: {path}", file=sys.stderr)
        return EXIT_USAGE
    questions, skipped = read_questions(path)
    if args.limit:
        questions = questions[:args.limit]
    if not questions:
        print(f"newsdesk: no questions in {path}", file=sys.stderr)
        return EXIT_USAGE
    assistant = Assistant(settings)
    from tqdm import tqdm

    with tqdm(total=len(questions), unit="q", file=sys.stderr, leave=False, disable=args.json) as bar:
        report = evaluate(assistant, questions, k=args.k, answers=not args.no_answers,
                          progress=lambda done: bar.update(done - bar.n))
    report.skipped_lines = skipped
    print(json.dumps(report.to_json(), indent=2) if args.json else report.render())
    return EXIT_OK


class UsageError(ValueError):
    """A command-line value that cannot be used; printed as it is, exit status 2."""


class NothingIndexed(RuntimeError):
    """Asking before indexing anything: exit status 1 with a hint instead of an empty answer."""


def _filter_args(args: argparse.Namespace) -> tuple[Any, Any, list[str] | None]:
    since, until = parse_range(args.since, args.until, ("--since", "--until"))
    return since, until, list(args.source or []) or None


def _assistant(settings: Settings) -> Any:
    from assistant.assistant import Assistant

    assistant = Assistant(settings)
    if not assistant.store.counts()[1]:
        raise NothingIndexed(f"nothing is indexed in {assistant.store.location} yet: "
                             "run 'newsdesk index FOLDER' first")
    return assistant


def _heading(title: str, source: str, published: str | None) -> str:
    meta = ", ".join(x for x in (source, published or "") if x)
    return f"{title or '(untitled)'}" + (f" — {meta}" if meta else "")


def _also(reports: Sequence[Any]) -> str:
    """The "also reported by" line of a passage whose story other outlets carried; '' when none did."""
    names = list(dict.fromkeys(r.source or r.title or "(untitled)" for r in reports))
    return f"also reported by {', '.join(names)}" if names else ""


def _short(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


@command("search")
def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    from assistant.types import report_dict

    since, until, sources = _filter_args(args)
    assistant = _assistant(settings)
    passages = assistant.search(args.query, k=max(1, args.k), since=since, until=until, sources=sources)
    if args.json:
        rows = [asdict(p) | {"also_reported_by": [report_dict(m) for m in p.also_reported_by]} for p in passages]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not passages:
        print("No passages found." + (" (Filters were applied.)" if since or until or sources else ""))
    for rank, p in enumerate(passages, 1):
        print(f"{rank}. {_heading(p.title, p.source, p.published)}  (score {p.score:.3f})")
        if p.url:
            print(f"   {p.url}")
        if p.also_reported_by:
            print(f"   {_also(p.also_reported_by)}")
        print(f"   {_short(p.text)}\n")
    return EXIT_OK


def _print_answer(assistant: Any, question: str, history: list[Any], filters: tuple[Any, Any, Any],
                  offline: bool = False) -> Any:
    """Streams one answer to stdout, then its sources; returns the ``Answer``."""
    from assistant.types import Answer, Delta

    answer = None
    streamed = ""
    for event in assistant.ask_stream(question, history, *filters, offline=offline):
        if isinstance(event, Delta):
            streamed += event.text
            print(event.text, end="", flush=True)
        elif isinstance(event, Answer):
            answer = event
    assert answer is not None
    print()
    if answer.notice:
        print(f"\nnote: {answer.notice}", file=sys.stderr)
    if answer.text.strip() != streamed.strip() and not streamed.endswith(answer.text):
        print(f"\n{answer.text}")  # the streamed text was replaced (e.g. markers tidied): show the final one
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        print(f"[{c.n}] {_heading(c.title, c.source, c.published)}")
        quoted = " … ".join(c.text[a:b] for a, b in c.quotes) if c.quotes else c.text
        print(f"    “{_short(quoted, 500)}”")
        if c.url:
            print(f"    {c.url}")
        if c.also_reported_by:
            print(f"    {_also(c.also_reported_by)}")
    return answer


@command("ask")
def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    import json

    filters = _filter_args(args)
    if not args.question.strip():
        raise UsageError("the question is empty")
    assistant = _assistant(settings)
    if args.json:
        answer = assistant.ask(args.question, None, *filters, offline=args.offline)
        print(json.dumps(answer.to_json(asked=args.question), ensure_ascii=False, indent=2))
        return EXIT_OK
    _print_answer(assistant, args.question, [], filters, offline=args.offline)
    return EXIT_OK


@command("chat")
def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.types import Turn

    filters = _filter_args(args)
    assistant = _assistant(settings)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"newsdesk chat ({assistant.mode}). Ask about the indexed articles; 'exit' or Ctrl-D to leave.",
              file=sys.stderr)
    history: list[Turn] = []
    while True:
        if interactive:
            print("\nyou> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question.lower() in ("exit", "quit", ":q", "/exit", "/quit"):
            break
        try:
            answer = _print_answer(assistant, question, history, filters)
        except QuestionError as exc:  # one refused question does not end the conversation
            print(f"newsdesk: {exc}", file=sys.stderr)
            continue
        if answer.question != " ".join(question.split()):
            print(f"(searched for: {answer.question})", file=sys.stderr)
        history.append(Turn(answer.question, answer.text))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
