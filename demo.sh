#!/usr/bin/env bash
# The offline demo: corpus -> small model -> batch -> filters -> auto-approve -> post, all local.
#
#   ./demo.sh                      first run ~3 min (install, then ~40 s); reruns ~10 s. The committed model.
#   DJBIOS_DEMO_TRAIN=1 ./demo.sh  trains the model itself instead: ~13 more minutes on 2 quiet cores
#
# Everything lives in ./demo/ (git-ignored): its own bot.toml, database, corpus and checkpoints.
# The model: training/data/demo-model/ holds the small model trained by scripts/demo_model.sh (one
# command reproduces it); the demo copies it in unless told to train. Knobs (environment):
#   DJBIOS_DEMO_DIR (./demo)   DJBIOS_DEMO_TRAIN   DJBIOS_DEMO_SIZE (small)   DJBIOS_DEMO_STEPS (see below)
#   (a SIZE or STEPS of your own means training too; a trained model is cached: delete demo/checkpoint)
#   DJBIOS_DEMO_SKIP_FILTERS   e.g. "length,pronouns": filters that only score, never reject (the
#                              test suite's seconds-old tiny model writes nothing that passes them all)
#   DJBIOS_DEMO_MODEL_ONLY     stop after the model (scripts/demo_model.sh uses it)
#   DJBIOS_DEMO_KEEP=1         keep the local Mastodon running at the end (its web UI), until Ctrl-C
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
DEMO="${DJBIOS_DEMO_DIR:-$ROOT/demo}"
SIZE="${DJBIOS_DEMO_SIZE:-small}"
STEPS="${DJBIOS_DEMO_STEPS:-4000}"  # small model, 4 x 256 tokens per step, cosine from lr 2e-3 (timings: bench/RESULTS.md)
COMPOSED_N=8000                     # bios composed by scripts/compose_bios.py beside the team's own (bench/RESULTS.md)
COMMITTED="$ROOT/training/data/demo-model"
VENV="${DJBIOS_VENV:-$ROOT/.venv}"
# Bold headers only on a terminal: a log or a pipe gets plain text.
if [ -t 1 ]; then BOLD=$'\033[1m'; OFF=$'\033[0m'; else BOLD=""; OFF=""; fi
now_ms() { local t="${EPOCHREALTIME:-}"; if [ -n "$t" ]; then t="${t/[.,]/}"; echo $((t / 1000)); else echo $(($(date +%s) * 1000)); fi; }
seconds_since() {  # "3.2 s" or "9.1 min" since a now_ms time
  local ms=$(($(now_ms) - $1))
  if [ "$ms" -lt 90000 ]; then printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); else printf '%d.%d min' $((ms / 60000)) $((ms % 60000 / 6000)); fi
}
T_DEMO="$(now_ms)"
STAGE_T=""
stage() {  # the previous stage's time, then the next stage's header
  if [ -n "$STAGE_T" ]; then echo "    done in $(seconds_since "$STAGE_T")"; fi
  STAGE_T="$(now_ms)"
  printf '%s==> [%s] %s%s\n' "$BOLD" "$1" "$2" "$OFF"
}
rel() { case "$1" in "$ROOT"/*) printf '%q' "${1#"$ROOT"/}" ;; *) printf '%q' "$1" ;; esac; }  # as typed at the root
# The committed model, unless asked to train (or for another size or step count than it was made with).
if [ -z "${DJBIOS_DEMO_TRAIN:-}${DJBIOS_DEMO_STEPS:-}" ] && [ "$SIZE" = small ] && [ -f "$COMMITTED/checkpoint" ]; then
  RUN="demo-small-committed"
else
  RUN="demo-$SIZE"
fi

stage 1/6 "virtualenv and install"
bash scripts/venv.sh test
export PATH="$VENV/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL=3   # TensorFlow's C++ start-up chatter (no GPU here, etc.)
mkdir -p "$DEMO"
SKIP="${DJBIOS_DEMO_SKIP_FILTERS:-}"
cat > "$DEMO/bot.toml" <<TOML
# Written by demo.sh: embedded defaults plus a local mock Mastodon and auto-approval.
[database]
url = "sqlite:///var/djbios.db"
[corpus]
path = "data/corpus.txt"
[model]
base_model = "$SIZE"
run_name = "$RUN"
[train]
steps = $STEPS
save_every = $STEPS
sample_every = 0
accumulate_gradients = 1
batch_size = 4
window = 256                      # 4 x 256 tokens per step: more tokens per second than 1 x 1024 on CPU (bench/RESULTS.md)
learning_rate = 0.002             # from scratch: higher than fine-tuning GPT-2 (1e-4); 1e-3 and 3e-3 were worse
lr_schedule = "cosine"
[generate]
nsamples = 32                     # 4 x batch_size: slots refill as bios end, and more candidates pass the filters
batch_size = 8
seed = -1                         # a fresh seed per batch (kept with it): a generate after the demo makes new bios
temperature = 0.5                 # measured, bench/bench_demo_quality.py: of the bios auto-approval takes first,
top_k = 40                        # 29 of 30 approvable (21 strictly); 22/9 at 0.6, fewer above. Varied less: see
top_p = 0.0                       # bench/RESULTS.md, "What the demo's followers would see"
[filters]
skip = [$(for f in ${SKIP//,/ }; do printf '"%s", ' "$f"; done)]
[review]
mode = "auto"
[mastodon]
api_base_url = "http://127.0.0.1:PORT_PLACEHOLDER"
visibility = "public"
set_bot_flag = true
[schedule]
min_queue = 3
TOML
export DJBIOS_CONFIG="$DEMO/bot.toml"

stage 2/6 "corpus from the team's sample bios and composed ones"
mkdir -p "$DEMO/data"
COMPOSED="$DEMO/data/composed.jsonl"
if [ ! -s "$COMPOSED" ] || [ scripts/compose_bios.py -nt "$COMPOSED" ]; then
  "$VENV/bin/python" scripts/compose_bios.py --n "$COMPOSED_N" --seed 7 --out "$COMPOSED"
fi
if [ ! -s "$DEMO/data/corpus.txt" ] || [ training/data/sample_bios.jsonl -nt "$DEMO/data/corpus.txt" ] \
   || [ "$COMPOSED" -nt "$DEMO/data/corpus.txt" ]; then
  djbios corpus build training/data/sample_bios.jsonl "$COMPOSED"
else
  echo "cached: $(rel "$DEMO/data/corpus.txt")"
fi
djbios corpus stats | sed -n 1p   # the size line; `djbios corpus stats` has the rest

if [ "$RUN" = demo-small-committed ]; then
  stage 3/6 "the committed small model (training/data/demo-model; DJBIOS_DEMO_TRAIN=1 trains one instead)"
  mkdir -p "$DEMO/checkpoint/$RUN"
  cp -u "$COMMITTED"/* "$DEMO/checkpoint/$RUN/"
  made_from="$(cat "$COMMITTED/corpus.sha256")"
  now_sha="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$DEMO/data/corpus.txt")"
  if [ "$now_sha" != "$made_from" ]; then
    echo "note: the committed model was trained on another corpus (the sample bios changed since);"
    echo "      scripts/demo_model.sh makes it again, DJBIOS_DEMO_TRAIN=1 ./demo.sh trains a local one"
  fi
  echo "using $(rel "$DEMO/checkpoint/$RUN") ($(ls "$COMMITTED" | grep -o 'model-[0-9]*' | head -n 1))"
else
  stage 3/6 "$SIZE model from scratch, trained $STEPS steps (cached after the first run)"
  # A model made from an older corpus has the wrong vocabulary: make it again (its run is moved aside).
  if [ ! -f "$DEMO/models/$SIZE/hparams.json" ] || [ "$DEMO/data/corpus.txt" -nt "$DEMO/models/$SIZE/hparams.json" ]; then
    rm -rf "$DEMO/models/$SIZE"
    djbios model init --size "$SIZE" --corpus "$DEMO/data/corpus.txt"
  fi
  if ! ls "$DEMO/checkpoint/$RUN/model-$STEPS.index" >/dev/null 2>&1 \
     || [ "$DEMO/models/$SIZE/hparams.json" -nt "$DEMO/checkpoint/$RUN/model-$STEPS.index" ]; then
    djbios train --steps "$STEPS" --fresh   # exactly $STEPS steps from the fresh model
  else
    echo "cached: $(rel "$DEMO/checkpoint/$RUN/model-$STEPS")"
  fi
fi
if [ -n "${DJBIOS_DEMO_MODEL_ONLY:-}" ]; then
  stage done "model ready: $(rel "$DEMO/checkpoint/$RUN")"
  exit 0
fi

stage 4/6 "local Mastodon (mastodon_mock) on a free port"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
sed -i "s/PORT_PLACEHOLDER/$PORT/" "$DEMO/bot.toml"
# --domain: status URLs name 127.0.0.1 like the web UI link (by default the mock writes "localhost").
mastodon_mock serve --in-memory --host 127.0.0.1 --port "$PORT" --domain "127.0.0.1:$PORT" --log-level warning \
  > "$DEMO/mastodon_mock.log" 2>&1 &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true' EXIT
export DJBIOS_ACCESS_TOKEN=mock_token   # the mock seeds account testuser with this token
for _ in $(seq 1 100); do
  "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/api/v1/instance', timeout=1)" 2>/dev/null && break
  sleep 0.2
done
echo "mastodon_mock at http://127.0.0.1:$PORT (pid $MOCK_PID)"

stage 5/6 "worker: one refill (generate, filter, auto-approve) and one post"
# The worker's log lines (one per job, alerts) go to a file: the summary line says what happened.
if ! djbios run --once 2> "$DEMO/worker.log"; then
  tail -n 5 "$DEMO/worker.log"
  echo "the worker failed: the whole log is $(rel "$DEMO/worker.log")"
  exit 1
fi

stage 6/6 "result"
djbios stats
DJ="$(rel "$VENV")/bin/djbios --config $(rel "$DEMO")/bot.toml"   # pasteable at the repository root
REPORT="$DEMO/checkpoint/$RUN/eval/report.md"
"$VENV/bin/python" - "$PORT" "$DJ" "$(rel "$REPORT")" "$([ -f "$REPORT" ] && echo yes || echo no)" \
  "$(seconds_since "$STAGE_T")" "$(seconds_since "$T_DEMO")" <<'PY'
import json, subprocess, sys, textwrap
port, dj, report, has_report, stage_took, demo_took = sys.argv[1:]
rows = [json.loads(l) for l in subprocess.run(["djbios", "queue", "--status", "posted", "--json"],
        check=True, capture_output=True, text=True).stdout.splitlines()]
if not rows:
    sys.exit(f"nothing was posted: `{dj} queue --status rejected` lists the reasons")
bio = rows[-1]
print(f"\nPosted bio #{bio['id']}:\n")
for para in bio["text"].splitlines():
    print("\n".join(textwrap.wrap(para.strip(), 76, initial_indent="  ", subsequent_indent="  ")))
print(f"\nStatus URL:  {bio['posted_url']}")
print(f"Web UI:      http://127.0.0.1:{port}/_ui/  (up while the demo runs: see DJBIOS_DEMO_KEEP below)")
print(f"    done in {stage_took}; the whole demo took {demo_took}")
evaluation = (("open the model's evaluation report", f"less {report}") if has_report == "yes" else
              ("write the model's evaluation report (a minute or two)", f"{dj} evaluate --checkpoint latest"))
steps = [("look at the queue, best first", f"{dj} queue"),
         ("review pending bios (a approve, r reject, s skip, u undo, q quit)", f"{dj} review"),
         (f"show bio #{bio['id']} with its filter verdicts", f"{dj} show {bio['id']}"),
         evaluation,
         ("run the demo again, keeping the local Mastodon and its web UI up until Ctrl-C",
          "DJBIOS_DEMO_KEEP=1 ./demo.sh"),
         ("run the bot against a real instance: read", "docs/OPERATING.md")]
print("\nNext, from the repository root:")
for what, command in steps:
    print(f"  {what}\n      {command}")
PY
if [ -n "${DJBIOS_DEMO_KEEP:-}" ]; then
  echo "The local Mastodon keeps running: http://127.0.0.1:$PORT/_ui/  (Ctrl-C stops it and the demo)"
  wait "$MOCK_PID"
fi
