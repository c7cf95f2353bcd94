"""The ``newsdesk`` command. Every subcommand calls the same Python API as the web app and the tests."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from index import Indexer, Progress, Settings, StoreError, load_settings
from index.embedding import EmbeddingError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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
    except (StoreError, EmbeddingError) as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnewsdesk: interrupted; the next run completes what was left", file=sys.stderr)
        return 130


@command("index")
def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    indexer = Indexer(settings)
    bar = _progress_bar(args.quiet)
    report = indexer.sync(args.paths, progress=bar.update)
    bar.close()
    print(report.summary())
    for failure in report.failures:
        print(f"  failed  {failure}")
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
    from index.status import collect_status

    status = collect_status(settings)
    print(status.render())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
