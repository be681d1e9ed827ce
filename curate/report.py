"""The run report: counts per stage and reason, timings, throughput (report.json)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from curate.manifest import Manifest, atomic_write_text

if TYPE_CHECKING:
    from curate.runner import Pipeline


def stage_summary(manifest: Manifest) -> dict:
    from curate.runner import stage_totals

    t = stage_totals(manifest)
    wall = manifest.seconds or 0.0
    return {
        "stage": manifest.stage,
        "position": manifest.position,
        "complete": manifest.complete,
        "config_hash": manifest.config_hash,
        "shards": manifest.num_shards,
        "docs_in": t.docs_in,
        "kept": t.kept,
        "removed": t.removed,
        "errors": t.errors,
        "balanced": t.docs_in == t.kept + t.removed,
        "bytes_in": t.bytes_in,
        "bytes_out": t.bytes_out,
        "reasons": dict(sorted(t.reasons.items(), key=lambda kv: -kv[1])),
        "counters": dict(sorted(t.counters.items())),
        "error_messages": t.error_messages[:20],
        "wall_seconds": round(wall, 3),
        "worker_seconds": round(t.seconds, 3),
        "docs_per_s": round(t.docs_in / wall, 1) if wall else None,
        "mb_per_s": round(t.bytes_in / wall / 1e6, 3) if wall else None,
        "extra": manifest.steps.get("finalize", {}).get("stats", {}),
    }


def write_report(pipeline: Pipeline) -> dict:
    """(Re)write workdir/report.json from the stage manifests; returns the report."""
    stages = []
    for stage, _ in pipeline.stage_plan():
        m = Manifest.load(stage.ctx.stage_dir)
        if m is not None:
            stages.append(stage_summary(m))
    report = {"pipeline": pipeline.cfg.name, "config": pipeline.cfg.to_dict(), "stages": stages}
    atomic_write_text(pipeline.workdir / "report.json", json.dumps(report, indent=1))
    return report
