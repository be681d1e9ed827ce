"""The stage runner: shards across worker processes, manifests, resume, staleness.

Every stage reads the previous stage's shards and writes its own under
`workdir/NN_<stage>/`. Each finished shard is renamed into place and then recorded in the
stage manifest, so `kill -9` at any moment followed by a rerun redoes only unfinished shards
and produces byte-identical outputs. A stage whose config (or any earlier stage's config)
changed is stale: its directory is cleared and it is recomputed, and so is every later stage.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.config import PipelineConfig, config_hash, dump_yaml, to_dict
from curate.errors import ConfigError, StageFailed
from curate.executors import LocalExecutor, RayExecutor
from curate.faults import fault_point
from curate.inputs import redact, resolve_inputs
from curate.manifest import MANIFEST, Manifest, atomic_write_text, describe_file
from curate.report import write_report
from curate.stage import (
    STAGES,
    MultiPassStage,
    Shard,
    Stage,
    StageContext,
    load_stage_modules,
    summary_dict,
)
from curate.stats import ShardStats, log

__all__ = ["Pipeline", "StageFailed", "log"]


# --------------------------------------------------------------------------- worker side

_STAGE_CACHE: dict[tuple, Stage] = {}


def _stage_instance(name: str, config: Any, ctx: StageContext, chash: str) -> Stage:
    """One stage object per worker process and config: models are loaded once, not per shard."""
    key = (name, chash, str(ctx.stage_dir))
    if key not in _STAGE_CACHE:
        try:  # only this stage's module: importing every stage costs ~1 s per fresh worker
            importlib.import_module(f"curate.stages.{name}")
        except ModuleNotFoundError:
            pass
        if name not in STAGES:
            load_stage_modules()
        _STAGE_CACHE.clear()
        _STAGE_CACHE[key] = STAGES[name](config, ctx)
    return _STAGE_CACHE[key]


class _NoBar:
    """What a progress bar does when stderr is not a terminal: nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str):
    """A tqdm bar of shards on a terminal; elsewhere none, and tqdm not imported (~20 ms)."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="shard")


@dataclass
class ShardTask:
    stage: str
    config: Any
    ctx: StageContext
    chash: str
    shard: Shard


def run_shard_task(task: ShardTask) -> tuple[str, str, dict]:
    """Run one shard in this process: returns (status, shard name, manifest entry or error)."""
    stats = ShardStats()
    t0 = time.perf_counter()
    try:
        stage = _stage_instance(task.stage, task.config, task.ctx, task.chash)
        outputs = stage.run_shard(task.shard, stats)
        files = {}
        for rel, tmp in outputs.items():
            files[rel] = describe_file(Path(tmp), rel)
            os.replace(tmp, task.ctx.stage_dir / rel)  # atomic: a shard file is whole or absent
            if os.path.lexists(tmp):  # rename(2) does nothing between two links of one file (a
                os.unlink(tmp)  # hard-linked input, already in place from a killed attempt)
        fault_point("shard_renamed")
    except Exception as e:  # a bad shard fails that shard by name, not the whole run
        where = traceback.extract_tb(e.__traceback__)[-1]
        detail = f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"
        return "failed", task.shard.name, {"input": redact(task.shard.input), "error": detail}
    stats.seconds = time.perf_counter() - t0
    entry = {"status": "done", "input": redact(task.shard.input), "files": files, "stats": stats.to_dict()}
    return "done", task.shard.name, entry


# --------------------------------------------------------------------------- driver side


class Pipeline:
    """Runs (or reports the status of) every stage of a pipeline config."""

    def __init__(self, cfg: PipelineConfig, workers: int | None = None, verbose: bool = True) -> None:
        load_stage_modules([s.name for s in cfg.stages])
        self.cfg = cfg
        self.workdir = cfg.workdir_path
        n = workers if workers is not None else cfg.executor.workers
        self.workers = n if n and n > 0 else (os.cpu_count() or 1)
        self.verbose = verbose
        self._executor: LocalExecutor | RayExecutor | None = None
        self._inputs: list[str] | None = None
        self._only_stage: str | None = None

    # ----------------------------------------------------------------- helpers
    @property
    def inputs(self) -> list[str]:
        if self._inputs is None:
            self._inputs = resolve_inputs(self.cfg.input.paths, base_dir=Path(self.cfg.base_dir))
        return self._inputs

    def stage_plan(self) -> list[tuple[Stage, str]]:
        """Each stage object with its chained hash (its config plus everything before it)."""
        plan, prev = [], ""
        for pos, spec in enumerate(self.cfg.stages):
            cls = STAGES[spec.name]
            stage_dir = self.workdir / cls.dirname(pos)
            input_dir = plan[-1][0].ctx.stage_dir if plan else None
            ctx = StageContext(
                workdir=self.workdir,
                stage_dir=stage_dir,
                position=pos,
                pipeline_name=self.cfg.name,
                input_format=self.cfg.input.format,
                input_dir=input_dir,
            )
            stage = cls(spec.config, ctx)
            extra: Any = stage.hash_inputs()
            if pos == 0:
                extra = [self.cfg.input.format, self._input_fingerprint(), extra]
            chash = config_hash(
                {"prev": prev, "stage": spec.name, "config": to_dict(spec.config), "extra": extra}
            )
            plan.append((stage, chash))
            prev = chash
        return plan

    def _input_fingerprint(self) -> list:
        out = []
        for p in self.inputs:
            try:
                size = os.path.getsize(p) if "://" not in p else None
            except OSError:
                size = None
            out.append([redact(p), size])
        return out

    @property
    def distributed(self) -> bool:
        return self.cfg.executor.type == "ray"

    def _map(self, fn, items) -> list:
        items = list(items)
        if not self.distributed and (self.workers <= 1 or len(items) <= 1):
            return [fn(x) for x in items]
        return self._get_executor().map(fn, items)

    def _get_executor(self) -> LocalExecutor | RayExecutor:
        if self._executor is None:
            if self.distributed:
                self._executor = RayExecutor(self.workers, self.cfg.executor.address)
            else:
                self._executor = LocalExecutor(self.workers)
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    # ----------------------------------------------------------------- run
    def run(self, only_stage: str | None = None, force: bool = False, report: bool = True) -> dict | None:
        """Run (or resume) every stage; returns the run report (None with `report=False`)."""
        names = [s.name for s in self.cfg.stages]
        if only_stage is not None and only_stage not in names:
            raise ConfigError(f"--stage {only_stage!r}: not in this pipeline; stages: {', '.join(names)}")
        _ = self.inputs  # fail on missing input before creating anything
        self._only_stage = only_stage
        self.workdir.mkdir(parents=True, exist_ok=True)
        lock = open(self.workdir / ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{self.workdir}: another llmcli run is using this workdir") from None
        try:
            atomic_write_text(self.workdir / "config.yaml", dump_yaml(self.cfg))
            plan = self.stage_plan()
            prev_manifest: Manifest | None = None
            for i, (stage, chash) in enumerate(plan):
                selected = only_stage is None or stage.name == only_stage
                m = Manifest.load(stage.ctx.stage_dir)
                if selected and m and m.discarded and m.complete and m.config_hash == chash and not force:
                    if not self._needed(plan, i):
                        if self.verbose:
                            log(f"{stage.ctx.stage_dir.name}: complete (outputs discarded), skipped")
                        prev_manifest = m
                        continue
                if selected:
                    prev_manifest = self._run_stage(stage, chash, prev_manifest, force=force)
                else:
                    earlier = only_stage is not None and names.index(stage.name) < names.index(only_stage)
                    if not (m and m.complete and m.config_hash == chash):
                        if earlier:
                            raise ConfigError(
                                f"--stage {only_stage}: earlier stage {stage.name!r} is not complete; "
                                "run without --stage first"
                            )
                        break
                    if (
                        earlier
                        and m.discarded
                        and (self._needed(plan, i) or (force and self._feeds(plan, i)))
                    ):
                        # the selected stage (or a discarded one before it) reads these outputs
                        m = self._run_stage(stage, chash, prev_manifest, force=False)
                    prev_manifest = m
            self._discard_upstream(plan)
            return write_report(self.cfg, states=self.stage_states()) if report else None
        finally:
            self.close()
            lock.close()

    def _complete(self, stage: Stage, chash: str) -> bool:
        m = Manifest.load(stage.ctx.stage_dir)
        if not (m and m.complete and m.config_hash == chash):
            return False
        return m.discarded or all(m.shard_valid(stage.ctx.stage_dir, n, verify=False) for n in m.shards)

    def _needed(self, plan: list[tuple[Stage, str]], i: int) -> bool:
        """A stage's outputs are needed while the stage after it is not complete, or is itself a
        discarded stage that will be recomputed."""
        if i + 1 >= len(plan):
            return False
        if not self._complete(*plan[i + 1]):
            return True
        nxt = Manifest.load(plan[i + 1][0].ctx.stage_dir)
        return bool(nxt and nxt.discarded) and self._needed(plan, i + 1)

    def _feeds(self, plan: list[tuple[Stage, str]], i: int) -> bool:
        """With `--stage S --force`: S reads stage i's outputs, directly or through discarded stages."""
        if i + 1 >= len(plan):
            return False
        nxt = plan[i + 1][0]
        if nxt.name == self._only_stage:
            return True
        m = Manifest.load(nxt.ctx.stage_dir)
        return bool(m and m.discarded) and self._feeds(plan, i + 1)

    def _discard_upstream(self, plan: list[tuple[Stage, str]]) -> None:
        """Delete the outputs of the stages before one that asks for it, once every stage is done."""
        if not all(self._complete(stage, chash) for stage, chash in plan):
            return
        last = max((i for i, (stage, _) in enumerate(plan) if stage.discards_upstream()), default=-1)
        for stage, _ in plan[: max(last, 0)]:
            m = Manifest.load(stage.ctx.stage_dir)
            if m is None:
                continue
            left = [p for p in sorted(stage.ctx.stage_dir.iterdir()) if p.name != MANIFEST]
            if m.discarded and not left:
                continue
            m.discarded = True
            m.save(stage.ctx.stage_dir)  # first: a kill mid-delete leaves a discarded stage, and
            for path in left:  # the next run deletes what is left
                fault_point("discard")
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            if self.verbose:
                log(f"{stage.ctx.stage_dir.name}: outputs discarded (raw text before the pii stage)")

    def _shards_for(self, stage: Stage, prev: Manifest | None) -> list[Shard]:
        """The first stage reads the inputs; every later one the previous stage's kept shards.

        A shard that kept no document has no file (no zero-row Parquet): it is simply not an
        input of the next stage, whose shards keep their numbers (part-00000, part-00002, ...).
        """
        if prev is None:
            return [Shard(i, p) for i, p in enumerate(self.inputs)]
        prev_dir = stage.ctx.input_dir
        return [Shard(i, str(prev_dir / rel), rows) for i, rel, rows in prev.kept_files()]

    def _run_stage(self, stage: Stage, chash: str, prev: Manifest | None, force: bool) -> Manifest:
        sdir = stage.ctx.stage_dir
        manifest = Manifest.load(sdir)
        if manifest is not None and (manifest.config_hash != chash or force or manifest.discarded):
            why = (
                "--force"
                if force
                else "config changed"
                if manifest.config_hash != chash
                else "outputs needed again"
            )
            log(f"{sdir.name}: {why}; recomputing this stage")
            shutil.rmtree(sdir)
            manifest = None
        elif manifest is None and sdir.exists():
            # No manifest, yet files: a clear-out above killed after the manifest went (rmtree's
            # order is the directory's), or an unreadable manifest. Nothing here is known to
            # belong to this config, so no global pass may reuse it.
            shutil.rmtree(sdir)
        sdir.mkdir(parents=True, exist_ok=True)
        for tmp in sdir.rglob("*.tmp-*"):  # leftovers of a killed run
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        shards = self._shards_for(stage, prev)
        if manifest is None:
            manifest = Manifest(stage.name, stage.ctx.position, chash, to_dict(stage.config))
        manifest.num_shards = len(shards)
        if manifest.complete and all(manifest.shard_valid(sdir, s.name) for s in shards):
            if self.verbose:
                log(f"{sdir.name}: complete, skipped")
            return manifest
        manifest.complete = False
        t0 = time.perf_counter()
        multi_pass = isinstance(stage, MultiPassStage)
        if multi_pass and not manifest.steps.get("prepare", {}).get("done"):
            manifest.steps["prepare"] = {"started": True}  # `curate status`: partial, files kept
            manifest.save(sdir)
            fault_point("prepare")
            self._global_pass(stage, "prepare", shards)
            manifest.steps["prepare"] = {"done": True}
            manifest.save(sdir)
        pending = [s for s in shards if not manifest.shard_valid(sdir, s.name)]
        if self.verbose:
            log(
                f"{sdir.name}: {len(shards) - len(pending)}/{len(shards)} shards done, running {len(pending)}"
            )
        failures = self._run_shards(stage, chash, pending, manifest)
        if failures:
            for name, err in failures:
                log(f"error: stage {stage.name}, shard {name} ({err['input']}): {err['error']}")
            manifest.seconds += time.perf_counter() - t0
            manifest.save(sdir)
            first = failures[0][1]  # the line names a file at fault, not only a shard number
            raise StageFailed(
                f"stage {stage.name}: {len(failures)} of {len(shards)} shards failed "
                f"({', '.join(n for n, _ in failures)}; {first['input']}: {first['error']}); "
                "fix the input and rerun to resume"
            )
        if multi_pass:
            summary = self._redacted(stage, summary_dict(self._global_pass(stage, "finalize", shards)))
            manifest.steps["finalize"] = {"done": True, "summary": summary}
        manifest.seconds += time.perf_counter() - t0
        manifest.complete = True
        manifest.save(sdir)
        totals = manifest.totals()
        if self.verbose:
            log(
                f"{sdir.name}: in {totals.docs_in}, kept {totals.kept}, removed {totals.removed}, "
                f"errors {totals.errors} ({manifest.seconds:.1f}s)"
            )
        return manifest

    def _redacted(self, stage: Stage, summary: Any) -> Any:
        """A summary of a stage before `pii` (raw text: a decontaminate example's URL, a resample
        group), redacted as pii would, so that the manifest and the report hold no raw value."""
        pii_at = next((i for i, spec in enumerate(self.cfg.stages) if spec.name == "pii"), -1)
        if stage.ctx.position >= pii_at:
            return summary
        from curate.stages.pii import build_redactor

        redactor = build_redactor(self.cfg.stages[pii_at].config)

        def clean(v: Any) -> Any:
            if isinstance(v, str):
                return redactor.redact(v)[0]
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {clean(k): clean(x) for k, x in v.items()}
            return v

        return clean(summary)

    def _global_pass(self, stage: MultiPassStage, name: str, shards: list[Shard]) -> Any:
        """`prepare` or `finalize`; an error is a failure of the stage, one line naming it."""
        try:
            return getattr(stage, name)(shards, self._map)
        except (ConfigError, StageFailed):
            raise
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            detail = f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"
            raise StageFailed(f"stage {stage.name}: {name} failed: {detail}; fix it and rerun") from e

    def _run_shards(self, stage: Stage, chash: str, pending: list[Shard], manifest: Manifest) -> list:
        tasks = [ShardTask(stage.name, stage.config, stage.ctx, chash, s) for s in pending]
        failures = []
        bar = _progress_bar(len(tasks), stage.ctx.stage_dir.name)

        def record(result: tuple[str, str, dict]) -> None:
            status, name, entry = result
            if status == "done":
                manifest.shards[name] = entry
                manifest.save(stage.ctx.stage_dir)  # the entry is written last: after the rename
                fault_point("shard_recorded")
            else:
                manifest.shards.pop(name, None)
                failures.append((name, entry))
            bar.update(1)

        try:
            if not self.distributed and (self.workers <= 1 or len(tasks) <= 1):
                for t in tasks:
                    record(run_shard_task(t))
            else:
                executor = self._get_executor()
                todo = {executor.submit(run_shard_task, t): t for t in tasks}
                while todo:
                    done, _ = wait(todo, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = todo.pop(fut)
                        try:
                            record(fut.result())
                        except Exception as e:  # BrokenProcessPool, a lost Ray worker
                            # A worker died (kill -9, out of memory): its shards are redone on rerun.
                            err = f"worker process died (killed or out of memory): {type(e).__name__}"
                            record(
                                ("failed", task.shard.name, {"input": redact(task.shard.input), "error": err})
                            )
                            executor.reset()
        finally:
            bar.close()
        return failures

    # ----------------------------------------------------------------- status
    def stage_states(self) -> dict[str, str]:
        """{stage dir: state} for the report; {} when that cannot be worked out (inputs gone)."""
        try:
            return {r["dir"]: r["state"] for r in self.status()}
        except Exception as e:
            log(f"warning: report: stage states unknown ({type(e).__name__}: {e})")
            return {}

    def status(self) -> list[dict]:
        rows = []
        stale_before = False
        for stage, chash in self.stage_plan():
            sdir = stage.ctx.stage_dir
            m = Manifest.load(sdir)
            row = {"position": stage.ctx.position, "stage": stage.name, "dir": sdir.name}
            if m is None:
                row.update(state="pending", shards_done=0, num_shards=None)
            else:
                done = sum(1 for n in m.shards if m.shard_valid(sdir, n, verify=False))
                if m.config_hash != chash or stale_before:
                    state = "stale"
                elif m.complete and (done == m.num_shards or m.discarded):
                    state = "done"
                elif done or m.steps.get("prepare"):  # a global pass started: its files are reused
                    state = "partial"
                else:
                    state = "pending"
                t = m.totals()
                row.update(
                    state=state,
                    shards_done=done,
                    num_shards=m.num_shards,
                    docs_in=t.docs_in,
                    kept=t.kept,
                    removed=t.removed,
                    errors=t.errors,
                    discarded=m.discarded,
                )
            stale_before = stale_before or row["state"] == "stale"
            rows.append(row)
        return rows
