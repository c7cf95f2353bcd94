"""The Gradio web chat (see issue 4). Until it lands, ``python app.py`` answers on the command line."""

from __future__ import annotations

import sys

from assistant.cli import main

if __name__ == "__main__":
    sys.exit(main(["status"]))
