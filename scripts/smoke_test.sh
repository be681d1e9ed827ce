#!/usr/bin/env bash
# Smoke test: the whole chain on the sample crawl, on a CPU, in minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
rm -rf runs/smoke
$BIN/llmcli curate run pipelines/smoke.yaml
$BIN/llmcli curate status pipelines/smoke.yaml
