"""The run report: what each stage removed and why, and what the corpus looks like after.

`write_report` gathers everything from what is already on disk (stage manifests, the
`reason`/`lang`/`domain` columns of the shards, a training run's `metrics.jsonl`) and writes
`workdir/report.json` and the self-contained `workdir/report.html` (curate/report_html.py).
It reads small columns only; document text is touched for a few example snippets per reason.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.config import PipelineConfig
from curate.manifest import Manifest, atomic_write_text
from curate.stage import STAGES, load_stage_modules, load_summary
from curate.stats import log

EXAMPLES_PER_REASON = 3
SNIPPET_CHARS = 240
TOP_DOMAINS = 15
# Character counts per language need the text column; above this many Parquet bytes per stage
# the mix reports document counts only, so the report stays cheap on a real crawl.
MIX_CHARS_MAX_BYTES = 1 << 30


def stage_summary(manifest: Manifest) -> dict:
    """One stage's counts, throughput and typed summary (a dict of plain values, for report.json)."""
    t = manifest.totals()
    wall = manifest.seconds or 0.0
    summary = load_summary(STAGES[manifest.stage], manifest.steps.get("finalize", {}).get("summary"))
    return {
        "stage": manifest.stage,
        "position": manifest.position,
        "dir": f"{manifest.position:02d}_{manifest.stage}",
        "complete": manifest.complete,
        "config_hash": manifest.config_hash,
        "shards": manifest.num_shards,
        "docs_in": t.docs_in,
        "kept": t.kept,
        "removed": t.removed,
        "errors": t.errors,
        # Every document read is kept or removed; resample's extra copies are new kept rows, and
        # errors are records that never became documents (counted, with file and offset).
        "copies": t.copies,
        "balanced": t.balanced,
        "chars_in": t.chars_in,
        "chars_out": t.chars_out,
        "raw_bytes": t.raw_bytes,
        "reasons": dict(sorted(t.reasons.items(), key=lambda kv: -kv[1])),
        "counters": dict(sorted(t.counters.items())),
        "error_messages": t.error_messages[:20],
        "wall_seconds": round(wall, 3),
        "worker_seconds": round(t.seconds, 3),
        "docs_per_s": round(t.docs_in / wall, 1) if wall else None,
        # text stages in characters of text per second; the crawl reader in MB of raw records
        "chars_per_s": round(t.chars_in / wall, 1) if wall and t.chars_in else None,
        "mb_per_s": round(t.raw_bytes / wall / 1e6, 3) if wall and t.raw_bytes else None,
        "summary": asdict(summary) if summary is not None else None,
    }


# --------------------------------------------------------------------------- removed documents


def snippet(text: str | None, chars: int = SNIPPET_CHARS) -> str:
    """The start of a document on one line (whitespace collapsed), for tables and terminals."""
    s = re.sub(r"\s+", " ", text or "").strip()
    return s if len(s) <= chars else s[: chars - 1] + "…"


def iter_removed(stage_dir: Path, reasons: set[str] | None = None) -> Iterator[dict]:
    """Removed documents of a stage (id, url, reason, text), optionally only some reasons.

    Reads the small `reason` column of each row group first and fetches text only for the
    rows that match, so looking for a rare reason does not load every removed document.
    """
    import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

    for path in sorted((stage_dir / "removed").glob("part-*.parquet")):
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        if "reason" not in names:
            continue
        cols = [c for c in ("id", "url", "reason", "text", "lang") if c in names]
        for i in range(pf.num_row_groups):
            rg = pf.read_row_group(i, columns=["reason"])
            if reasons is not None:
                mask = pc.is_in(rg.column("reason"), value_set=_string_array(reasons))
                if not pc.any(mask).as_py():
                    continue
                yield from pf.read_row_group(i, columns=cols).filter(mask).to_pylist()
            else:
                yield from pf.read_row_group(i, columns=cols).to_pylist()


def _string_array(values: set[str]):
    import pyarrow as pa

    return pa.array(sorted(values), type=pa.string())


def removed_examples(
    stage_dir: Path,
    reasons: list[str],
    per_reason: int = EXAMPLES_PER_REASON,
    clean: Callable[[str], str] | None = None,
) -> dict:
    """{reason: [{id, url, snippet}, ...]} with up to `per_reason` documents per reason.

    `clean` rewrites the text and URL first (the pii stage's redaction, for a stage that runs
    before it): the whole text, so that cutting the snippet cannot keep half of a value.
    """
    out: dict[str, list[dict]] = {r: [] for r in reasons}
    wanted = set(reasons)
    if not wanted:
        return out
    for doc in iter_removed(stage_dir, wanted):
        r = doc["reason"]
        if r in wanted:
            text, url = doc.get("text") or "", doc.get("url")
            if clean is not None:
                text, url = clean(text), clean(url) if url else url
            out[r].append(
                {"id": doc.get("id"), "url": url, "snippet": snippet(text), "lang": doc.get("lang")}
            )
            if len(out[r]) >= per_reason:
                wanted.discard(r)
                if not wanted:
                    break
    return out


# --------------------------------------------------------------------------- corpus mix


def corpus_mix(stage_dir: Path, with_removed: bool = False) -> dict | None:
    """Documents (and characters, when cheap) per language and per domain in a stage's kept shards
    (and its removed ones: what went into the stage, for the mix before filtering)."""
    import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

    paths = sorted(stage_dir.glob("part-*.parquet"))
    if with_removed:
        paths += sorted((stage_dir / "removed").glob("part-*.parquet"))
    if not paths:
        return None
    with_chars = sum(p.stat().st_size for p in paths) <= MIX_CHARS_MAX_BYTES
    langs: Counter = Counter()
    domains: Counter = Counter()
    lang_chars: Counter = Counter()
    docs = chars = 0
    for path in paths:
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        cols = [c for c in ("lang", "domain") if c in names]
        if not cols:
            return None  # not a document shard (e.g. a stage that writes something else)
        use_chars = with_chars and "text" in names
        for i in range(pf.num_row_groups):
            t = pf.read_row_group(i, columns=cols + (["text"] if use_chars else []))
            docs += t.num_rows
            lang = t.column("lang").fill_null("unknown") if "lang" in names else None
            if lang is not None:
                langs.update(_value_counts(lang))
            if "domain" in names:
                domains.update(_value_counts(t.column("domain").fill_null("unknown")))
            if use_chars:
                lengths = pc.utf8_length(t.column("text")).fill_null(0)
                chars += pc.sum(lengths).as_py() or 0
                if lang is not None:
                    grouped = t.select([]).append_column("lang", lang).append_column("n", lengths)
                    for row in grouped.group_by("lang").aggregate([("n", "sum")]).to_pylist():
                        lang_chars[row["lang"]] += row["n_sum"]
    top = domains.most_common(TOP_DOMAINS)
    other = docs - sum(n for _, n in top) if domains else 0
    return {
        "stage": stage_dir.name,
        "docs": docs,
        "chars": chars if with_chars else None,
        "lang": dict(langs.most_common()),
        "lang_chars": dict(lang_chars.most_common()) if with_chars and lang_chars else None,
        "domains_total": len(domains),
        "domain_top": dict(top),
        "domain_other": other,
    }


def _value_counts(column) -> dict:
    import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

    return {d["values"]: d["counts"] for d in pc.value_counts(column).to_pylist()}


# --------------------------------------------------------------------------- stage sections


def stage_sections(stages: list[dict]) -> dict:
    """The dedup, contamination, resample and token sections, each from its stage's typed summary."""
    out: dict[str, Any] = {
        "pii": None,
        "dedup": None,
        "contamination": None,
        "resample": None,
        "tokens": None,
    }
    for s in stages:
        if s["stage"] == "pii":  # a document stage: its replacements per type are its counters
            replaced = {k.split(":", 1)[1]: v for k, v in s["counters"].items() if k.startswith("replaced:")}
            out["pii"] = {
                "stage": s["dir"],
                "replaced": replaced,
                "docs_redacted": s["counters"].get("docs_redacted", 0),
            }
        summary = s["summary"]
        if summary is None:
            continue
        if s["stage"] == "dedup":
            out["dedup"] = {
                "stage": s["dir"],
                "exact_duplicates": summary["exact_duplicates"],
                "minhash_duplicates": summary["minhash_duplicates"],
                "clusters": summary["clusters"],
                "cluster_size_histogram": summary["cluster_sizes"],  # "1", "2", "3-4", "5-8", ...
                # LSH candidates and what was not removed of them (MinHash runs only)
                "lsh": {
                    k: summary.get(k)
                    for k in (
                        "bands",
                        "rows",
                        "candidate_pairs",
                        "estimate_floor",
                        "below_floor_edges",
                        "verified_pairs",
                    )
                },
            }
        elif s["stage"] == "decontaminate":
            rows = [{"benchmark": name, **hits} for name, hits in summary["benchmarks"].items()]
            out["contamination"] = {"stage": s["dir"], "benchmarks": rows}
        elif s["stage"] == "resample":
            out["resample"] = {
                "stage": s["dir"],
                "shares_before": summary["shares_before"],
                "shares_after": summary["shares_after"],
            }
        elif s["stage"] == "tokenize":
            keys = ("tokens", "train_tokens", "val_tokens", "test_tokens", "vocab_size")
            out["tokens"] = {"stage": s["dir"], **{k: summary[k] for k in keys}}
    return out


def funnel(stages: list[dict]) -> list[dict]:
    """Documents and text through every stage: the input, then what each stage kept."""
    if not stages:
        return []
    first = stages[0]
    rows = [
        {"step": "input", "docs": first["docs_in"], "chars": None, "tokens": None, "removed": 0, "errors": 0}
    ]
    for s in stages:
        rows.append(
            {
                "step": s["dir"],
                "docs": s["kept"],
                "chars": s["chars_out"],
                "tokens": s["summary"]["tokens"] if s["stage"] == "tokenize" and s["summary"] else None,
                "removed": s["removed"],
                "errors": s["errors"],
            }
        )
    base = rows[0]["docs"] or 0
    for r in rows:
        r["kept_pct"] = round(100.0 * r["docs"] / base, 2) if base else None
    # Tokens are counted only where the tokenizer ran; earlier stages get an estimate from the
    # tokens-per-character of the tokenized text, marked as such.
    counted = [r for r in rows if r["tokens"] is not None and r["chars"]]
    if counted:
        per_char = counted[-1]["tokens"] / counted[-1]["chars"]
        for r in rows:
            r["tokens_estimated"] = r["tokens"] is None and r["chars"] is not None
            if r["tokens_estimated"]:
                r["tokens"] = round(r["chars"] * per_char)
    return rows


# --------------------------------------------------------------------------- training


def read_evals(train_dir: Path) -> list[dict]:
    """The `llmcli eval` results a run folder holds (`eval_<split>.json`), with their per-domain and
    per-language rows; a file that does not parse is passed over."""
    out = []
    for path in sorted(Path(train_dir).glob("eval_*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("loss"), (int, float)):
            keys = ("split", "step", "tokens", "loss", "ppl", "bpb", "by_domain", "by_lang")
            out.append({"file": path.name, **{k: rec.get(k) for k in keys}})
    return out


def read_train_metrics(train_dir: Path) -> dict | None:
    """Loss, val-loss and throughput series from a training run's `metrics.jsonl`."""
    path = Path(train_dir) / "metrics.jsonl"
    if not path.is_file():
        return None
    train, val, speed = [], [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed run
        if not isinstance(rec, dict) or not isinstance(rec.get("step"), (int, float)):
            continue
        step = rec["step"]
        if isinstance(rec.get("loss"), (int, float)):
            train.append([step, rec["loss"]])
        if isinstance(rec.get("val_loss"), (int, float)):
            val.append([step, rec["val_loss"]])
        tok_s = rec.get("tok_s")
        if isinstance(tok_s, (int, float)):
            speed.append([step, tok_s])
    if not (train or val):
        return None
    return {
        "dir": str(train_dir),
        "steps": int(max(p[0] for p in train + val)),
        "final_loss": train[-1][1] if train else None,
        "final_val_loss": val[-1][1] if val else None,
        "best_val_loss": min(p[1] for p in val) if val else None,
        "mean_tok_s": round(sum(p[1] for p in speed) / len(speed), 1) if speed else None,
        "loss": train,
        "val_loss": val,
        "tok_s": speed,
    }


# --------------------------------------------------------------------------- the report


def build_report(
    cfg: PipelineConfig, train_dir: Path | None = None, states: dict[str, str] | None = None
) -> dict:
    """Everything the report shows, from what is on disk under the workdir (nothing is recomputed).

    `states` is {stage dir: done / partial / stale / pending} as `curate status` says (the runner
    knows; the report does not import it); without it every stage on disk counts as current.
    """
    load_stage_modules()
    workdir = cfg.workdir_path
    states = states or {}
    listed, stages, dirs = [], [], []
    for pos, spec in enumerate(cfg.stages):
        stage_dir = workdir / STAGES[spec.name].dirname(pos)
        m = Manifest.load(stage_dir)
        if m is not None:
            listed.append({**stage_summary(m), "state": states.get(stage_dir.name)})
            # A stale stage's outputs follow from another config: listed, not counted as current.
            if listed[-1]["state"] != "stale":
                stages.append(listed[-1])
                dirs.append(stage_dir)
    # Stages before `pii` hold raw text: their examples are redacted as pii would, and the
    # corpus mix starts at pii, so no original value reaches report.json or report.html.
    pii_at = next((i for i, spec in enumerate(cfg.stages) if spec.name == "pii"), -1)
    clean = _redaction(cfg.stages[pii_at].config) if pii_at >= 0 else None
    removals = {}
    for s, d in zip(stages, dirs):
        if s["reasons"]:
            raw = s["position"] < pii_at
            examples = removed_examples(d, list(s["reasons"]), clean=clean if raw else None)
            removals[s["dir"]] = {
                r: {"count": n, "examples": examples.get(r, [])} for r, n in s["reasons"].items()
            }
    # Before: what entered the first filter stage (kept + removed: language ID labels both), else
    # the first stage with documents; after: what the last stage kept.
    eligible = [(s, d) for s, d in zip(stages, dirs) if s["position"] >= pii_at]
    first = next(((s, d) for s, d in eligible if s["stage"] == "filter"), eligible[0] if eligible else None)
    before = corpus_mix(first[1], with_removed=first[0]["stage"] == "filter") if first else None
    after = next((m for _, d in reversed(eligible) if (m := corpus_mix(d)) is not None), None)
    mix = {"before": before, "after": after}
    if train_dir is None and (workdir / "train" / "metrics.jsonl").is_file():
        train_dir = workdir / "train"
    total_wall = sum(s["wall_seconds"] for s in stages)
    return {
        "pipeline": cfg.name,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "workdir": str(workdir),
        "funnel": funnel(stages),
        "stages": listed,
        "removals": removals,
        "mix": mix,
        **stage_sections(stages),
        "timings": {
            "total_wall_seconds": round(total_wall, 3),
            "stages": [
                {
                    k: s[k]
                    for k in (
                        "dir",
                        "wall_seconds",
                        "worker_seconds",
                        "docs_per_s",
                        "chars_per_s",
                        "mb_per_s",
                    )
                }
                for s in stages
            ],
        },
        "train": read_train_metrics(train_dir) if train_dir is not None else None,
        "eval": read_evals(train_dir) if train_dir is not None else [],
        "config": cfg.to_dict(),
    }


def _redaction(pii_config: Any) -> Callable[[str], str]:
    from curate.stages.pii import build_redactor

    redactor = build_redactor(pii_config)
    return lambda text: redactor.redact(text)[0]


def write_report(
    cfg: PipelineConfig, train_dir: Path | None = None, states: dict[str, str] | None = None
) -> dict:
    """(Re)write workdir/report.json and workdir/report.html; returns the report."""
    report = build_report(cfg, Path(train_dir) if train_dir is not None else None, states)
    atomic_write_text(cfg.workdir_path / "report.json", json.dumps(report, indent=1, default=str))
    try:
        from curate.report_html import render_html

        atomic_write_text(cfg.workdir_path / "report.html", render_html(report))
    except Exception as e:  # the JSON report and the run's outputs stand even if plotting fails
        log(f"warning: report.html not written: {type(e).__name__}: {e}")
    return report
