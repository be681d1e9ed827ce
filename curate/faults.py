"""Fault injection for tests: `LLMCLI_FAULT=point:n` kills this process with SIGKILL the n-th
time `point` is reached. Points: `doc` (while a shard is being written), `shard_renamed` (shard
files in place, manifest entry not yet written), `shard_recorded` (after the manifest entry),
`prepare` (a multi-pass stage's global pass starts), `dedup_pass` (after each of dedup's passes),
`decontaminate_index` (the benchmark index saved), `pack` (tokenize's final pack, between moves),
`discard` (before each delete of a stage's raw-text outputs, `pii: {discard_raw: true}`).
Unset in normal runs, where this costs one dict lookup per call.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def fault_point(point: str) -> None:
    spec = os.environ.get("LLMCLI_FAULT")
    if not spec:
        return
    name, _, n = spec.partition(":")
    if name != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(n or 1):
        os.kill(os.getpid(), signal.SIGKILL)
