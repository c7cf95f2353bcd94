"""A real ``newsdesk serve`` in a subprocess on a free loopback port, for the web and API tests.

A subprocess rather than a thread: it is what a user runs (CLI, settings from the environment, uvicorn, Gradio's
queue), its log can be grepped, and it is stopped by its own pid when the module's tests are done.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    def __init__(self, home: Path, index: list[Path], env: dict[str, str] | None = None,
                 auth: tuple[str, str] | None = None, verbose: bool = False, watch: list[Path] = ()) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth = auth
        self.log_path = home.parent / f"serve-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NEWSDESK_", "GRADIO_"))}
        clean.update({"NEWSDESK_HOME": str(home), "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"})
        if auth:
            clean["NEWSDESK_AUTH"] = f"{auth[0]}:{auth[1]}"
        clean.update(env or {})
        cmd = [sys.executable, "-m", "assistant.cli", *(["-v"] if verbose else []), "serve",
               "--host", "127.0.0.1", "--port", str(self.port)]
        for path in index:
            cmd += ["--index", str(path)]
        for path in watch:
            cmd += ["--watch", str(path)]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=clean, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> WebServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"newsdesk serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(self.url + "/gradio_api/info", auth=self.auth, timeout=2.0)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"newsdesk serve did not come up in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()
