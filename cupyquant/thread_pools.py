"""The package's host thread pools: one a purpose (NumPy decoding, the GPU
loader's file reads), made on first use and made again when the number of
threads asked for changes (the benchmarks sweep it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def shared_pool(purpose: str, threads: int) -> ThreadPoolExecutor:
    """The pool for ``purpose`` ("decode", "load"), of ``threads`` threads."""
    with _lock:
        pool = _pools.get(purpose)
        if pool is None or pool._max_workers != threads:
            if pool is not None:
                pool.shutdown(wait=False)   # its queued work still runs
            pool = _pools[purpose] = ThreadPoolExecutor(threads, thread_name_prefix=f"cupyquant-{purpose}")
        return pool
