"""Where shard tasks run: local worker processes, or Ray tasks on a cluster.

Both hand back `concurrent.futures.Future`s, so the runner's loop (submit, wait for the first
to finish, record it in the manifest) is the same for either. The runner stays the only writer
of manifests; workers only write their own shard files, by atomic rename.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def _init_worker() -> None:
    # Each worker is one process per core: tokenizers' own thread pool would oversubscribe.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class LocalExecutor:
    """A pool of spawned worker processes (spawn, not fork: the driver may hold threads from
    pyarrow or tokenizers that a fork would copy in an undefined state)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker)
        return self._pool

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Future:
        return self._get().submit(fn, arg)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return list(self._get().map(fn, items))

    def reset(self) -> None:
        """Drop a pool whose worker died; the next submit starts a fresh one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Shard tasks as Ray tasks. `address` is a running cluster (`ray://host:10001` or `auto`);
    None starts a local Ray instance. Outputs must live on storage every node sees."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise RuntimeError("executor.type ray needs Ray: pip install 'ray>=2.9'") from None
        self.ray = ray
        self._started_here = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
            if address is None:
                kwargs["num_cpus"] = workers
            ray.init(**kwargs, runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
            self._started_here = True
        self._remote: dict[Callable, Any] = {}

    def _task(self, fn: Callable) -> Any:
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        return self._remote[fn]

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Future:
        return self._task(fn).remote(arg).future()

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return self.ray.get([self._task(fn).remote(x) for x in items])

    def reset(self) -> None:
        pass

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()
            self._started_here = False
