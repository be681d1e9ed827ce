#!/usr/bin/env bash
# Smoke test: the whole chain on the sample crawl, on a CPU, in minutes:
# ingest -> pii -> filter -> dedup -> decontaminate -> resample -> tokenize -> train -> sample -> eval -> report.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
rm -rf runs/smoke
$BIN/llmcli curate run pipelines/smoke.yaml
$BIN/llmcli curate status pipelines/smoke.yaml
# tiny models run faster on one thread than on two contending ones
export OMP_NUM_THREADS=1
$BIN/llmcli train train/configs/tiny.yaml --data runs/smoke/tokens \
  --set out_dir=runs/smoke/train --set max_steps=60 --set eval_every=30 --set log_every=10
$BIN/llmcli sample --checkpoint runs/smoke/train/checkpoints/step_00000060.pt --prompt "The" --max-new-tokens 30
$BIN/llmcli eval --model runs/smoke/train --data runs/smoke/tokens --split test
$BIN/llmcli curate report pipelines/smoke.yaml --train-dir runs/smoke/train
# the chain must have produced a model whose val loss beat the uniform guess over the vocabulary
$BIN/python - <<'PY'
import json, math
rows = [json.loads(l) for l in open("runs/smoke/train/metrics.jsonl") if l.strip()]
val = [r["val_loss"] for r in rows if "val_loss" in r]
vocab = json.load(open("runs/smoke/tokens/meta.json")).get("vocab_size", 4096)
assert val and val[-1] < math.log(vocab), f"val loss {val} did not fall below ln(vocab) = {math.log(vocab):.2f}"
report = json.load(open("runs/smoke/report.json"))
assert all(s["balanced"] for s in report["stages"]), "counts do not balance"
held_out = json.load(open("runs/smoke/train/eval_test.json"))
assert held_out["tokens"] > 0 and held_out["loss"] < math.log(vocab), held_out
assert report["eval"] and report["eval"][0]["split"] == "test", "the report lacks the eval results"
print(f"smoke test passed: final val loss {val[-1]:.3f}, test loss {held_out['loss']:.3f}, "
      f"{held_out['bpb']:.3f} bits per byte (uniform guess {math.log(vocab):.2f})")
PY
