"""How many threads llama.cpp should use for the next call, from what else is running on the machine.

llama.cpp's threads spin at barriers. Measured on this 2-vCPU machine (Qwen2.5 1.5B Q4_K_M): idle,
2 threads decode 7–8 tok/s and 1 thread 4.7–4.9; with one core kept busy by another process, 2 threads
collapse to 2.5–2.8 tok/s while 1 thread keeps 4.5–5.1. So: use every core when the others are idle,
leave a core free when something else is working. Other processes' CPU use is read from /proc/stat
minus this process's own CPU time over the same window (so our own decoding never counts against us).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

BUSY_CORES = 0.4  # other processes using more than this much of a core take one thread away
SAMPLE_SECONDS = 0.15
MAX_WINDOW = 30.0


@dataclass
class _Reading:
    wall: float
    busy: float  # seconds of CPU used by everything (all cores), from /proc/stat
    own: float  # seconds of CPU used by this process


def usable_cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _read() -> _Reading | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal …: busy = all but idle and iowait
    busy = sum(fields[:3]) + sum(fields[5:8])
    times = os.times()
    return _Reading(time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), times.user + times.system)


class ThreadAdvisor:
    """Remembers the last reading, so each call measures the window since the previous one."""

    def __init__(self, cores: int | None = None, reader=_read) -> None:
        self.cores = cores or usable_cores()
        self._read = reader
        self._last: _Reading | None = None
        self._lock = threading.Lock()
        self.last_other_load: float | None = None

    def other_load(self) -> float | None:
        """Cores used by other processes since the last reading (a short fresh sample when there is
        none, or it is too recent or too old to mean anything); None when /proc/stat is unreadable."""
        with self._lock:
            now = self._read()
            if now is None:
                return None
            last = self._last
            if last is None or not (SAMPLE_SECONDS <= now.wall - last.wall <= MAX_WINDOW):
                time.sleep(SAMPLE_SECONDS)
                last, now = now, self._read()
                if now is None:
                    return None
            self._last = now
            wall = max(now.wall - last.wall, 1e-6)
            load = max(0.0, ((now.busy - last.busy) - (now.own - last.own)) / wall)
            self.last_other_load = load
            return load

    def threads(self) -> int:
        """Threads for the next call: every core when the machine is otherwise idle, fewer when not."""
        if self.cores <= 1:
            return 1
        load = self.other_load()
        if load is None or load <= BUSY_CORES:
            return min(self.cores, 8)
        return max(1, min(self.cores - math.ceil(load - BUSY_CORES), 8))
