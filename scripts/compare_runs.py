"""Run a pipeline with two revisions of llmcli on the same input and compare every output file.

    .venv/bin/python scripts/compare_runs.py --before 15f0323 [--after HEAD] [--pipeline pipelines/web.yaml]
        [--after-set tokenize.test_fraction=0]

Each revision is exported with `git archive` into a temp directory and run there (`python -m cli`,
so its own modules are imported, with this checkout's virtualenv). Both runs read the same sample
crawl, built by the *before* revision's generator, and the same pipeline YAML (the before
revision's), so any difference comes from the code. `--after-set` turns off, for the after run,
a feature that did not exist before (its default would change outputs on purpose).

Every file under both workdirs is compared byte for byte: kept and removed shards, token shards,
the index, the tokenizer, dedup's and tokenize's intermediate files; JSON files by value, their
`seconds` timings aside, and keys only the after run writes are listed. Files that record configs or
timings (manifests, config.yaml, report.*, tokenizer.meta.json) are listed as skipped. Exit 1 on any
difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {"_manifest.json", "config.yaml", "report.json", "report.html", "tokenizer.meta.json", ".lock"}


def export(rev: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    if (ROOT / "models").is_dir():  # the LID model is not in git
        os.symlink(ROOT / "models", dest / "models")
    return dest


def build_sample(tree: Path, out: Path) -> None:
    module = (
        "scripts.sample_crawl" if (tree / "scripts" / "sample_crawl.py").is_file() else "curate.sample_crawl"
    )
    subprocess.run([sys.executable, "-m", module, "--out", str(out)], cwd=tree, check=True, env=_env(tree))


def _env(tree: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONSAFEPATH": ""}


def run(tree: Path, config: Path, sets: list[str]) -> None:
    cmd = [sys.executable, "-m", "cli", "curate", "run", str(config), "--workers", "2"]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, cwd=tree, check=True, env=_env(tree))


def digests(workdir: Path) -> dict[str, str]:
    out = {}
    for p in sorted(workdir.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(workdir))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _untimed(value):
    """A JSON value without its timing entries (keys named `seconds`), which differ run to run."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _added(x, y, where: str = "") -> tuple[bool, list[str]]:
    """(every value of x is in y unchanged, keys y has beyond x) over nested mappings."""
    if isinstance(x, dict) and isinstance(y, dict):
        added = [f"{where}{k}" for k in sorted(set(y) - set(x))]
        ok = set(x) <= set(y)
        for k in set(x) & set(y):
            sub_ok, sub_added = _added(x[k], y[k], f"{where}{k}.")
            ok, added = ok and sub_ok, added + sub_added
        return ok, added
    return x == y, []


def compare_json(a: Path, b: Path) -> tuple[bool, list[str]]:
    """(shared values equal, keys only the after run writes): a new feature may add keys, not change them."""
    return _added(_untimed(json.loads(a.read_text())), _untimed(json.loads(b.read_text())))


def zero_rows(path: Path) -> bool:
    import pyarrow.parquet as pq

    return path.suffix == ".parquet" and pq.ParquetFile(path).metadata.num_rows == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="git revision of the reference run")
    ap.add_argument("--after", default="HEAD", help="git revision to compare (default HEAD)")
    ap.add_argument("--pipeline", default="pipelines/web.yaml")
    ap.add_argument("--after-set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="compare-runs-"))
    try:
        before = export(args.before, tmp / "before")
        after = export(args.after, tmp / "after")
        crawl = tmp / "crawl"
        build_sample(before, crawl)
        spec = yaml.safe_load((before / args.pipeline).read_text())
        spec["input"]["paths"] = [f"{crawl}/*.warc.gz"]
        for name, tree, sets in (("before", before, []), ("after", after, args.after_set)):
            spec["workdir"] = str(tmp / f"run-{name}")
            config = tmp / f"{name}.yaml"
            config.write_text(yaml.safe_dump(spec, sort_keys=False))
            print(
                f"== {name} ({args.before if name == 'before' else args.after}): {args.pipeline}", flush=True
            )
            run(tree, config, sets)
        a, b = digests(tmp / "run-before"), digests(tmp / "run-after")
        compared = same = 0
        problems, notes = [], []
        for rel in sorted(set(a) | set(b)):
            if Path(rel).name in SKIPPED:
                continue
            compared += 1
            if (
                rel not in a
                and zero_rows(tmp / "run-after" / rel)
                or rel not in b
                and zero_rows(tmp / "run-before" / rel)
            ):
                notes.append(f"zero-row Parquet file written by one run only (no longer written): {rel}")
            elif rel not in a and (tmp / "run-after" / rel).stat().st_size == 0:
                notes.append(f"empty file only the after run writes: {rel}")
            elif rel not in a or rel not in b:
                problems.append(f"only in {'after' if rel in b else 'before'}: {rel}")
            elif a[rel] == b[rel]:
                same += 1
            elif rel.endswith(".json"):
                equal, added = compare_json(tmp / "run-before" / rel, tmp / "run-after" / rel)
                if not equal:
                    problems.append(f"differs: {rel}")
                else:
                    same += 1
                    notes.append(
                        f"same values, timings aside{'; after adds ' + ', '.join(added) if added else ''}: {rel}"
                    )
            else:
                problems.append(f"differs: {rel}")
        skipped = sorted({Path(r).name for r in set(a) | set(b) if Path(r).name in SKIPPED})
        print(f"{same} of {compared} files identical; skipped (configs, timings): {', '.join(skipped)}")
        for p in sorted(notes) + problems:
            print(p)
        return 1 if problems else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
