"""Timing and reporting for ``manage.py benchmark``: p50/p95 of repeated runs, beside a reference."""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import psutil


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def quiet_logger(name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raises a logger's level for a while: a measured 404 must not pay for writing its warning."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


@dataclass
class Timing:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 0.95)


def measure(run: Callable[[], object], *, repetitions: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)


def measure_pair(
    run: Callable[[], object], reference: Callable[[], object], *, repetitions: int, warmup: int = 3
) -> tuple[Timing, Timing]:
    """Interleaves the operation and its reference so drift on a shared machine hits both alike."""
    for _ in range(warmup):
        run()
        reference()
    samples, reference_samples = [], []
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        reference()
        reference_samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples), Timing(reference_samples)


class PeakRss:
    """Samples this process's resident memory in a thread; ``growth_mb`` is peak minus start."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.process = psutil.Process()
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1_000_000


@dataclass
class Row:
    name: str
    p50_ms: float
    p95_ms: float
    reference: str
    reference_p50_ms: float | None
    ratio: float | None
    target: str
    meets: bool
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        data = asdict(self)
        extra = data.pop("extra")
        for key in ("p50_ms", "p95_ms", "reference_p50_ms", "ratio"):
            if data[key] is not None:
                data[key] = round(data[key], 4)
        return {**data, **extra}


def ratio_of(value: float, reference: float | None) -> float | None:
    if not reference:
        return None
    return value / reference


def render_table(rows: list[Row]) -> str:
    headers = ["operation", "p50 ms", "p95 ms", "reference p50 ms", "ratio", "target", "meets"]
    lines = []
    for row in rows:
        lines.append(
            [
                row.name,
                f"{row.p50_ms:.2f}",
                f"{row.p95_ms:.2f}",
                "-" if row.reference_p50_ms is None else f"{row.reference_p50_ms:.2f}",
                "-" if row.ratio is None else f"{row.ratio:.3f}",
                row.target,
                "yes" if row.meets else "NO",
            ]
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)
    return "\n".join(out)


def write_json(rows: list[Row], path: str) -> None:
    with open(path, "w") as handle:
        json.dump([row.as_json() for row in rows], handle, indent=2)
