"""The built wheel on its own: installed into a fresh virtualenv, away from the repository, ``newsdesk`` works.

Tests that import from the checkout cannot see what the wheel leaves out: package data (the prompts, the tokenizer)
or dependencies an older pip skips (justext's ``lxml[html_clean]`` with the pip that Python 3.11's venv bundles).
So this builds the wheel, installs it with that bundled pip into a new venv (no ``--system-site-packages``: it
would hide missing dependencies) and runs the ``newsdesk`` command from a temp folder with PYTHONPATH unset.
Nothing leaves the machine: the build backend and the dependencies come from the wheelhouse that
``scripts/setup.sh --browser`` fills (``<dev venv>/wheelhouse``) and pip sees no index; without the wheelhouse the
test fails rather than download.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai_server import Recorded, Reply, ScriptedOpenAI

from assistant.answer import REFUSAL

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TXT = ROOT / "data" / "sample" / "putin-duel-kyiv-strike-2024-12-20.txt"
SAMPLE_HTML = ROOT / "tests" / "fixtures" / "feeds" / "articles" / "harbour-reopens.html"
NOT_SOURCES = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
               "artifacts")
"""Left out of the copy the wheel is built from: a stale build/lib would put deleted files into the wheel."""
LLM_REPLY = "Valparaiso harbour reopened on Wednesday after a three-day storm closure [{n}]."
# Anything that tries the internet from pip or the installed app goes to a closed loopback port and fails at once;
# only the scripted server on 127.0.0.1 is reached directly.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost,::1", "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
# pip sees no index and none of this machine's pip configuration (it names extra index urls and find-links): every
# distribution comes from the --find-links wheelhouse given on the command line. PIP_* variables are dropped first.
PIP_OFFLINE = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
"""Filled by ``scripts/setup.sh --browser`` in the venv running this test (``NEWSDESK_VENV`` moves both)."""
SETUP_HINT = "run `bash scripts/setup.sh --browser` (or `--wheelhouse`)"


def _base_python() -> Path:
    """The interpreter this test's venv was made from: a new venv from it gets the pip that Python bundles."""
    for name in ("python3", "python"):
        candidate = Path(sys.base_prefix) / "bin" / name
        if candidate.exists():
            return candidate
    pytest.skip(f"no python3 under sys.base_prefix ({sys.base_prefix})")


def _wheelhouse() -> Path:
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail(f"no dependency wheels in {WHEELHOUSE}: {SETUP_HINT} first. This test installs offline from "
                    "there and never downloads.", pytrace=False)
    return WHEELHOUSE


def _stale_hint() -> str:
    """Why an offline install may fail: the wheelhouse was filled for another pyproject.toml."""
    stamp = WHEELHOUSE / ".newsdesk-requirements"
    filled_for = stamp.read_text().split()[0] if stamp.exists() else ""
    if filled_for == hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest():
        return ""
    return f"\n{WHEELHOUSE} was not filled for this pyproject.toml: {SETUP_HINT} to refresh it."


def _run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float,
         hint: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, \
        f"{args} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}{hint}"
    return done


def _clean_env() -> dict[str, str]:
    """This process's environment without what would make the repository or the dev venv importable, and offline."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
    kept = {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith(("OPENAI_", "NEWSDESK_", "PYTEST_", "PIP_"))}
    return {**kept, **OFFLINE, **PIP_OFFLINE}


@dataclass
class Installed:
    wheel: Path
    venv: Path
    work: Path
    """An empty folder outside the repository: every command runs there."""
    env: dict[str, str]
    base: Path
    seconds: dict[str, float]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def newsdesk(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return _run([self.venv / "bin" / "newsdesk", *args], self.work, {**self.env, **(extra_env or {})}, 300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = _base_python()
    probe = subprocess.run([str(base), "-c", "import venv, ensurepip"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{base} cannot create a virtualenv with pip (no venv/ensurepip module): {probe.stderr.strip()}")
    wheelhouse = _wheelhouse()
    tmp = tmp_path_factory.mktemp("packaging")
    env = _clean_env()
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES), symlinks=True)
    dist = tmp / "dist"
    # The isolated build environment's setuptools comes from the wheelhouse too.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links", wheelhouse, "-w", dist,
          source], tmp, env, 600, _stale_hint())
    wheel = next(dist.glob("newsdesk-*.whl"))
    seconds["build"] = time.perf_counter() - start

    start = time.perf_counter()
    venv = tmp / "venv"
    _run([base, "-m", "venv", venv], tmp, env, 300)
    # --no-compile: byte-compiling every dependency is most of an install's CPU time; imports compile what they use.
    _run([venv / "bin" / "python", "-m", "pip", "install", "--no-compile", "--no-index", "--find-links", wheelhouse,
          wheel], tmp, env, 600, _stale_hint())
    seconds["install"] = time.perf_counter() - start

    work = tmp / "work"
    work.mkdir()
    env = {**env, "NEWSDESK_HOME": str(tmp / "home"), "PYTHONNOUSERSITE": "1"}
    yield Installed(wheel, venv, work, env, base, seconds)
    shutil.rmtree(venv, ignore_errors=True)  # 0.7 GB; pytest keeps the last three temp folders


@pytest.fixture(scope="module")
def indexed(installed: Installed) -> Installed:
    """The sample text article and an HTML page indexed by the installed command."""
    for article in (SAMPLE_TXT, SAMPLE_HTML):
        shutil.copy(article, installed.work)
    done = installed.newsdesk("index", "--quiet", SAMPLE_TXT.name, SAMPLE_HTML.name)
    assert done.stdout.startswith("added 2,") and "failed 0" in done.stdout, done.stdout + done.stderr
    return installed


def test_the_wheel_ships_code_prompts_and_model_data_only(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    prompts = {f"prompts/{p.name}" for p in (ROOT / "prompts").glob("*.txt")}
    models = {f"index/models/{p.name}" for p in (ROOT / "index" / "models").glob("*.json")}
    data = prompts | models
    assert prompts and models and data <= names, f"data files missing from the wheel: {sorted(data - names)}"
    assert {"prompts/__init__.py", "index/__init__.py", "assistant/__init__.py", "app.py"} <= names
    top = {n.split("/")[0] for n in names if not n.startswith("newsdesk-")}
    assert top == {"app.py", "assistant", "index", "prompts"}, f"unexpected top-level entries: {sorted(top)}"


def test_the_bundled_pip_installs_every_dependency(installed: Installed) -> None:
    version = _run([installed.python, "-m", "pip", "--version"], installed.work, installed.env, 60).stdout
    print(f"\nfresh venv: {version.strip()}; build {installed.seconds['build']:.0f} s, "
          f"venv + install {installed.seconds['install']:.0f} s")
    bundled = _run([installed.base, "-c", "import ensurepip; print(ensurepip.version())"], installed.work,
                   installed.env, 60).stdout.strip()
    assert version.split()[1] == bundled, "the venv keeps the pip its Python bundles"
    _run([installed.python, "-m", "pip", "check"], installed.work, installed.env, 120)
    _run([installed.python, "-c", "import lxml, lxml_html_clean, bm25s, starlette, httpcore"], installed.work,
         installed.env, 120)


def test_the_installed_package_is_imported_from_the_venv_not_the_repo(installed: Installed) -> None:
    # find_spec: where each would be imported from, without importing gradio (app) for seconds.
    code = "import json, importlib.util as u; print(json.dumps([u.find_spec(m).origin for m in " \
           "('app', 'assistant', 'index', 'prompts')]))"
    files = [Path(f).resolve() for f in json.loads(_run([installed.python, "-c", code], installed.work,
                                                        installed.env, 120).stdout)]
    for file in files:
        assert file.is_relative_to(installed.venv.resolve()), f"{file} is not inside the fresh venv"
        assert not file.is_relative_to(ROOT), f"{file} comes from the repository"


def test_index_html_and_text_then_answer_offline_with_citations(indexed: Installed) -> None:
    out = indexed.newsdesk("ask", "--offline", "What did Putin propose?").stdout
    answer, sources = out.split("\nSources:\n")
    assert "duel" in answer and "[1]" in answer
    assert sources.startswith("[1] Putin’s Bold ‘Duel’ Threat")

    # a question asking for a place needs the entity model, which must come with the wheel's dependencies
    out = indexed.newsdesk("ask", "--offline", "Where did Russia first use the Oreshnik missile?").stdout
    assert out.startswith("Dnipro — "), out

    out = indexed.newsdesk("ask", "--offline", "Why was the Valparaiso harbour closed?").stdout
    answer, sources = out.split("\nSources:\n")
    assert "[1]" in answer and "storm" in answer, "the HTML page was extracted and indexed"
    assert sources.startswith("[1] Valparaiso harbour reopens after three-day storm closure")


def _cite_the_harbour(request: Recorded) -> Reply:
    """The scripted model's answer, citing the prompt's passage about the harbour by its number."""
    passages = request.messages[-1]["content"].split("<passage n=")[1:]
    n = next((p.split('"')[1] for p in passages if "storm swells" in p), "1")
    return Reply(LLM_REPLY.format(n=n))


def test_llm_mode_sends_the_shipped_prompts(indexed: Installed) -> None:
    with ScriptedOpenAI(default=_cite_the_harbour) as server:
        done = indexed.newsdesk("ask", "Why was the Valparaiso harbour closed?", extra_env={
            "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-packaging-test",
            "NEWSDESK_LLM_MODEL": "test-model", "NEWSDESK_LLM_TIMEOUT": "30"})
    assert done.stdout.startswith(LLM_REPLY.format(n=1)), done.stdout + done.stderr
    assert "\nSources:\n[1] Valparaiso harbour reopens" in done.stdout, done.stdout
    system_prompt = (ROOT / "prompts" / "answer_system.txt").read_text(encoding="utf-8").strip().format(
        refusal=REFUSAL)
    answers = [r for r in server.requests if r.path.endswith("/chat/completions") and r.messages
               and r.messages[0]["content"] == system_prompt]
    assert answers, f"no request carried prompts/answer_system.txt: {[r.messages[:1] for r in server.requests]}"
    user = answers[-1].messages[-1]["content"]
    assert user.startswith("Today is ") and 'title="Valparaiso harbour reopens' in user, user
