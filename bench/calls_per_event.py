"""Figures 1 and 2: AWS calls per event by path, how they change with the account's history, and
where the stop sits in the call sequence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.account import BenchAccount
from bench.calls import IDEMPOTENCY, LEDGER, StopPosition
from bench.scenarios import PATHS, Path, PathRun, run_path
from bench.stats import Summary

ROUND_TRIP_SECONDS = 0.02  # per HTTP attempt, in this figure's windows (handler wall times include it)


@dataclass
class PathCounts:
    path: Path
    history: int
    runs: list[PathRun]

    def _summary(self, count) -> Summary:  # type: ignore[no-untyped-def]
        return Summary.of([count(run) for run in self.runs])

    @property
    def total(self) -> Summary:
        return self._summary(lambda r: len(r.log.guard_calls))

    @property
    def account(self) -> Summary:
        return self._summary(lambda r: len(r.log.account_calls))

    @property
    def idempotency(self) -> Summary:
        return self._summary(lambda r: r.log.count_by_role()[IDEMPOTENCY])

    @property
    def ledger(self) -> Summary:
        return self._summary(lambda r: r.log.count_by_role()[LEDGER])

    @property
    def unattributed(self) -> int:
        return sum(len(r.log.unattributed) for r in self.runs)

    @property
    def handler_seconds(self) -> Summary:
        return self._summary(lambda r: r.invocation.seconds)

    @property
    def handler_cpu_seconds(self) -> Summary:
        return self._summary(lambda r: r.invocation.cpu_seconds)

    @property
    def sequence(self) -> list[str]:
        return self.runs[0].log.sequence()

    @property
    def stable(self) -> bool:
        """Every run made the same calls in the same order."""
        return all(run.log.sequence() == self.sequence for run in self.runs)

    @property
    def outcome(self) -> str:
        return str(self.runs[0].invocation.result.get("outcome"))

    @property
    def follow_up_events(self) -> int:
        return self.runs[0].follow_up_events

    @property
    def stop(self) -> StopPosition | None:
        if self.path.stop_operation is None:
            return None
        return self.runs[0].log.position(self.path.stop_operation)

    def key_counts(self) -> tuple[float, float, float]:
        return (self.account.median, self.idempotency.median, self.ledger.median)


@dataclass
class CallsResult:
    history_sizes: tuple[int, ...]
    repeats: int
    counts: dict[str, dict[int, PathCounts]] = field(default_factory=dict)
    seeding_seconds: dict[int, float] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        return [p for p in PATHS if p.key in self.counts]

    def grows(self, key: str) -> bool:
        """Whether any count of the path changed with the account's history."""
        by_history = self.counts[key]
        baseline = by_history[min(by_history)]
        return any(
            c.key_counts() != baseline.key_counts() or c.sequence != baseline.sequence
            for c in by_history.values()
        )


def measure_calls(
    account: BenchAccount,
    *,
    history_sizes: tuple[int, ...] = (0, 1_000, 10_000),
    repeats: int = 3,
    paths: tuple[Path, ...] = PATHS,
    warmup: bool = True,
) -> CallsResult:
    """Run every path `repeats` times at each history size (jobs seeded cumulatively, smallest
    size first). With `warmup`, each path gets one unrecorded invocation first, so that the handler
    times are those of a warm container (the runtime is rebuilt when the policy changes between
    paths); counts do not need it."""
    result = CallsResult(tuple(sorted(history_sizes)), repeats)
    # A modelled round trip per call, so that the calls the guard sends together overlap and each
    # falls in its round (bench/calls.py): the order of a sequence is then the same on every run.
    account.recorder.latency, saved = ROUND_TRIP_SECONDS, account.recorder.latency
    try:
        _measure(account, result, paths, warmup)
    finally:
        account.recorder.latency = saved
    return result


def _measure(account: BenchAccount, result: CallsResult, paths: tuple[Path, ...], warmup: bool) -> None:
    repeats = result.repeats
    seeded = 0
    for history in result.history_sizes:
        if history > seeded:
            start = time.perf_counter()
            account.seed_completed_training_jobs(history - seeded, start=seeded)
            result.seeding_seconds[history] = time.perf_counter() - start
            seeded = history
        for path in paths:
            if warmup:
                run_path(account, path, f"{path.key}-h{history}-w")
            runs = [run_path(account, path, f"{path.key}-h{history}-r{i}") for i in range(repeats)]
            result.counts.setdefault(path.key, {})[history] = PathCounts(path, history, runs)
