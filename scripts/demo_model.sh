#!/usr/bin/env bash
# Make the demo's committed model again: training/data/demo-model/ from the team's bios, one command.
#
#   scripts/demo_model.sh          ~15 min on 2 quiet cores (corpus, model init, 4000 training steps)
#
# It runs demo.sh's own corpus and training stages (DJBIOS_DEMO_TRAIN=1, DJBIOS_DEMO_MODEL_ONLY=1) in
# a scratch folder, so the recipe has one home (demo.sh's [train] settings and STEPS), then copies the
# final checkpoint's weights and vocabulary here with the SHA-256 of the corpus it learnt from, which
# demo.sh checks. Training is seeded; a rerun matches the committed weights up to floating-point noise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${DJBIOS_DEMO_MODEL_WORK:-$ROOT/demo/model-build}"  # git-ignored, like the demo
OUT="${DJBIOS_DEMO_MODEL_OUT:-$ROOT/training/data/demo-model}"
rm -rf "$WORK"
DJBIOS_DEMO_TRAIN=1 DJBIOS_DEMO_MODEL_ONLY=1 DJBIOS_DEMO_DIR="$WORK" DJBIOS_DEMO_SIZE=small \
  bash "$ROOT/demo.sh"
RUN="$WORK/checkpoint/demo-small"
STEP="$(sed -n 's/^model_checkpoint_path: "model-\([0-9]*\)"$/\1/p' "$RUN/checkpoint")"
rm -rf "$OUT"
mkdir -p "$OUT"
# Weights, vocabulary and shape only: the .meta graph is rebuilt from hparams.json when the model loads.
cp "$RUN/model-$STEP.data-00000-of-00001" "$RUN/model-$STEP.index" "$RUN/hparams.json" \
   "$RUN/encoder.json" "$RUN/vocab.bpe" "$OUT/"
printf 'model_checkpoint_path: "model-%s"\nall_model_checkpoint_paths: "model-%s"\n' "$STEP" "$STEP" > "$OUT/checkpoint"
python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
  "$WORK/data/corpus.txt" > "$OUT/corpus.sha256"
echo "wrote $OUT (step $STEP, $(du -sh "$OUT" | cut -f1)); scratch folder: $WORK"
