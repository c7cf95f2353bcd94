"""The web chat: ``python app.py [--host H] [--port P] …`` is ``newsdesk serve`` (see ``assistant.launcher``)."""

from __future__ import annotations

import sys

from assistant.cli import main as cli_main


def main() -> int:
    return cli_main(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
