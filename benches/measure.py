"""Timing and peak-RSS helpers for the benchmarks."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds (all threads)
    maxrss_kib: int | None = None  # peak resident set of the measured process (subprocesses only)


@dataclass
class Series:
    name: str
    samples: list[Sample] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, s: Sample) -> None:
        self.samples.append(s)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_median_mib(self) -> float | None:
        rss = [s.maxrss_kib for s in self.samples if s.maxrss_kib is not None]
        return statistics.median(rss) / 1024 if rss else None

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "runs": len(self.samples),
            "wall_median_s": self.median,
            "wall_min_s": self.best,
            "wall_max_s": max(self.walls),
            "cpu_median_s": self.cpu_median,
            "peak_rss_median_mib": self.rss_median_mib,
            "samples": [asdict(s) for s in self.samples],
            **self.extra,
        }


TIME = Path("/usr/bin/time")


def run_process(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
    cwd: Path | None = None,
) -> Sample:
    """Run ``cmd`` to completion; its wall time, CPU time and peak RSS.

    The command is started through GNU time (``/usr/bin/time -f '%M %U %S'``) when it is there: a
    process forked from this (large) Python process would report this process's RSS as its own peak
    (``ru_maxrss`` survives exec), a process forked from ``time`` reports its own. Without GNU time,
    ``wait4`` figures are used and RSS is left out.
    """
    argv = [os.fspath(c) for c in cmd]
    use_time = TIME.exists()
    with tempfile.NamedTemporaryFile("r", prefix="rusage-", suffix=".txt") as rus:
        if use_time:
            argv = [str(TIME), "-f", "%M %U %S", "-o", rus.name, *argv]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            env=dict(env) if env is not None else None,
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{err.decode(errors='replace')}")
        if not use_time:
            return Sample(wall=wall, cpu=ru.ru_utime + ru.ru_stime, maxrss_kib=None)
        maxrss, utime, stime = rus.read().split()[-3:]
    # GNU time's %M is the peak resident set in KiB.
    return Sample(wall=wall, cpu=float(utime) + float(stime), maxrss_kib=int(maxrss))


def run_inprocess(fn: Callable[[], object]) -> Sample:
    """Call ``fn``; its wall time and this process's CPU time (every thread) while it ran."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return Sample(wall=wall, cpu=cpu)


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _cpu_times() -> tuple[int, int]:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return idle, sum(ticks[:8])


def idle_fraction(window: float = 2.0) -> float:
    """Share of all CPUs' time spent idle over ``window`` seconds (1.0 = nothing else running)."""
    i0, t0 = _cpu_times()
    time.sleep(window)
    i1, t1 = _cpu_times()
    return (i1 - i0) / max(1, t1 - t0)


def wait_idle(
    timeout: float,
    threshold: float = 0.95,
    log: Callable[[str], None] | None = None,
    window: float = 1.0,
) -> float:
    """Wait (up to ``timeout`` s) until the machine is at least ``threshold`` idle over ``window``
    seconds; the last idle share measured."""
    deadline = time.monotonic() + timeout
    idle = idle_fraction(window)
    waited = False
    while idle < threshold and time.monotonic() < deadline:
        if log is not None and not waited:
            log(f"machine busy ({100 * (1 - idle):.0f} % CPU used by others); waiting")
        waited = True
        idle = idle_fraction(window)
    return idle


Settle = Callable[[], float]
