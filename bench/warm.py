"""Figure 4: warm cost. The handler's time per event, in-process on the embedded AWS, against bare
boto3 clients making the same calls (the guard's recorded calls, replayed for another job), run
interleaved so that machine noise hits both alike.

Wall-clock time is what Lambda bills; the process's CPU time (every thread's: the guard sends its
decision reads from two threads of its own; moto's work in-process included) is also kept: it is
not inflated by other processes on a shared machine, and it leaves out time the handler spends
waiting on purpose (the tuning path polls for its stopped parent).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import boto3

from bench.account import BenchAccount
from bench.replay import BareClients, Recording
from bench.scenarios import PATHS, Path, run_path, start_subject
from bench.stats import Summary


@dataclass
class Timing:
    wall: float
    cpu: float


@dataclass
class WarmCost:
    path: Path
    calls: int
    guard: list[Timing]
    bare: list[Timing]

    def summary(self, side: str, clock: str = "wall") -> Summary:
        return Summary.of([getattr(t, clock) for t in getattr(self, side)])

    def ratios(self, clock: str = "wall") -> Summary:
        """Guard over bare, per interleaved pair."""
        return Summary.of(
            [
                getattr(g, clock) / getattr(b, clock)
                for g, b in zip(self.guard, self.bare, strict=True)
            ]
        )

    @property
    def waiting(self) -> Summary:
        """The guard's wall time off the process's CPU, per run: waiting (sleeps) and queueing."""
        # Clock granularity can make a run's difference slightly negative: that is no waiting.
        return Summary.of([max(0.0, t.wall - t.cpu) for t in self.guard])

    @property
    def waits_on_purpose(self) -> bool:
        """More than a second off-CPU per event: a designed wait, not machine noise."""
        return self.waiting.median > 1.0


@dataclass
class WarmResult:
    repeats: int
    costs: dict[str, WarmCost] = field(default_factory=dict)


def measure_warm(
    account: BenchAccount, *, repeats: int = 15, paths: tuple[Path, ...] = PATHS
) -> WarmResult:
    result = WarmResult(repeats)
    # A session made while the recorder is installed: its clients carry the same hooks as the
    # guard's, so both sides pay the same (small) recording overhead.
    bare = BareClients(boto3.session.Session(region_name=account.session.region_name))
    for path in paths:
        # Also warms the container up. Replays substitute names of the same length: some
        # payloads (the alert's subject) are cut to a limit, and must stay within it.
        recorded = run_path(account, path, f"{path.key}-wrec")
        recording = Recording.of(recorded.log.guard_calls, recorded.subject.tokens)
        cost = WarmCost(path, len(recording), [], [])
        # One unmeasured pair first: the bare clients are created on their first call.
        for i in range(repeats + 1):
            first_guard = i % 2 == 0
            timings = {}
            for side in ("guard", "bare") if first_guard else ("bare", "guard"):
                measure = _time_guard if side == "guard" else _time_bare
                timings[side] = measure(account, path, recording, bare, f"{path.key}-w{i:02d}")
            if i:
                cost.guard.append(timings["guard"])
                cost.bare.append(timings["bare"])
        result.costs[path.key] = cost
    return result


def _time_guard(
    account: BenchAccount, path: Path, recording: Recording, bare: BareClients, tag: str
) -> Timing:
    _, event = start_subject(account, path, f"{tag}g")
    invocation = account.invoke(event)
    account.routed_events()  # what the guard's own calls routed back: not part of this event
    if len(invocation.log.guard_calls) != len(recording):
        raise AssertionError(
            f"{path.key}: the guard made {len(invocation.log.guard_calls)} calls, "
            f"the recording has {len(recording)}"
        )
    return Timing(invocation.seconds, invocation.cpu_seconds)


def _time_bare(
    account: BenchAccount, path: Path, recording: Recording, bare: BareClients, tag: str
) -> Timing:
    subject, _ = start_subject(account, path, f"{tag}b")  # its event is not handled: no guard here
    calls = recording.for_subject(subject.tokens)
    with account.recorder.window():  # recorded like the guard's invocation is
        start, cpu = time.perf_counter(), time.process_time()
        bare.run(calls)
        timing = Timing(time.perf_counter() - start, time.process_time() - cpu)
    account.routed_events()
    return timing
