"""The GPU loader's host side: file bytes into pinned staging buffers, from
several threads.

A chunk's byte range (gpu/load_plan.py) is cut into pieces, one a thread,
between ``MIN_PART`` and the loader's ``PART_BYTES``; each piece is copied
from the page cache into its place in a pinned buffer by a thread of one
shared pool. Two ways to read, both of which release the GIL: "mmap", a
NumPy copy out of a read-only memory map of the file, and "pread",
``os.preadv`` straight from the file into the buffer (the loader's
``READ_METHOD`` picks; its comment has the measurements). Errors name the
file and the offset.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import GGUFError
from ..thread_pools import shared_pool

MIN_PART = 1 << 20       # smallest piece of a chunk one host thread copies


class HostReader:
    """Copies file byte ranges into (pinned) host arrays, from ``threads``
    threads at once, in pieces of at most ``part_bytes``; ``method`` "mmap"
    or "pread" (see the module docstring)."""

    def __init__(self, paths, method: str, threads: int, part_bytes: int):
        if method not in ("pread", "mmap"):
            raise ValueError(f"READ_METHOD must be 'pread' or 'mmap', got {method!r}")
        if method == "pread" and not hasattr(os, "preadv"):
            method = "mmap"   # no preadv on this platform (Windows)
        self.method = method
        self.threads, self.part_bytes = max(1, int(threads)), int(part_bytes)
        self.paths = list(paths)
        self.fds, self.maps, self.sizes = [], [], []
        try:
            for p in self.paths:
                fd = os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                self.fds.append(fd)
                size = os.fstat(fd).st_size
                self.sizes.append(size)
                if method == "mmap":
                    self.maps.append(np.memmap(p, dtype=np.uint8, mode="r") if size else
                                     np.empty(0, np.uint8))
        except OSError as e:
            self.close()
            raise GGUFError(f"cannot open: {e.strerror or e}", path=e.filename) from e

    def read_into(self, file_index: int, offset: int, dst: np.ndarray) -> None:
        n = dst.size
        path = self.paths[file_index]
        if self.method == "mmap":
            src = self.maps[file_index][offset:offset + n]
            if src.size != n:
                raise GGUFError("unexpected end of file", path=path, offset=offset + src.size)
            np.copyto(dst, src)
            return
        view, done = memoryview(dst), 0
        try:
            while done < n:
                got = os.preadv(self.fds[file_index], [view[done:]], offset + done)
                if got <= 0:
                    raise GGUFError("unexpected end of file", path=path, offset=offset + done)
                done += got
        except OSError as e:
            raise GGUFError(f"read failed: {e.strerror or e}", path=path, offset=offset + done) from e
        finally:
            view.release()

    def submit(self, chunk, dst: np.ndarray) -> list:
        """Futures copying the chunk's byte range into ``dst[:span]``: one piece
        per thread, between MIN_PART and ``part_bytes`` bytes."""
        span = chunk.end - chunk.start
        part = min(max(self.part_bytes, MIN_PART), max(MIN_PART, -(-span // self.threads)))
        part = -(-part // 65536) * 65536
        pool = shared_pool("load", self.threads)
        return [pool.submit(self.read_into, chunk.file_index, chunk.start + a,
                            dst[a:min(a + part, span)])
                for a in range(0, span, part)]

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.maps = []  # the memory maps close when the last view is gone
