"""python -m bench [--reduced] [--output PATH] [--only calls,stop,warm,cold,door,sweeper,package]"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
FIGURES = ("calls", "stop", "warm", "door", "sweeper", "package", "cold")


@dataclass(frozen=True)
class Plan:
    history_sizes: tuple[int, ...]
    call_repeats: int
    warm_repeats: int
    cold_repeats: int
    sweeper_completed: int
    sweeper_in_progress: tuple[int, ...]
    sweeper_repeats: int
    stop_repeats: int


FULL = Plan((0, 1_000, 10_000), 3, 15, 15, 10_000, (0, 50, 500), 3, 15)
REDUCED = Plan((0, 200), 1, 3, 2, 500, (0, 5), 1, 3)


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def _handler_output_silenced() -> Iterator[None]:
    """The handler logs JSON and EMF metrics to stdout, as in Lambda: keep them out."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--reduced", action="store_true", help="few repeats and a small history (CI)"
    )
    parser.add_argument(
        "--output",
        help="where to write the results (default: bench/RESULTS.md for a "
        "full run; a reduced run only prints them)",
    )
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figures to run")
    args = parser.parse_args(argv)
    figures = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    plan = REDUCED if args.reduced else FULL
    output = Path(args.output) if args.output else (None if args.reduced else RESULTS_PATH)

    from bench.account import prepare_process_environment

    prepare_process_environment()  # before anything imports Powertools or the handler
    _share_botocore_loader()

    from bench.machine import describe_machine
    from bench.report import Results, headline, render

    started = time.perf_counter()
    command = "make bench-ci" if args.reduced else "make bench"
    results = Results("reduced" if args.reduced else "full", command, describe_machine())
    with _handler_output_silenced():
        _run(figures, plan, results)
    results.seconds = time.perf_counter() - started
    report = render(results)
    if output is not None:
        output.write_text(report, encoding="utf-8")
        _progress(f"wrote {output}")
    else:
        print(report)
    print("\nHeadline:")
    for figure, value, target, verdict in headline(results):
        print(
            f"  {figure}: {value}"
            + (f"  [target {target}: {verdict.strip('*')}]" if verdict else "")
        )
    return 0


def _run(figures: list[str], plan: Plan, results) -> None:  # type: ignore[no-untyped-def]
    from bench.account import embedded_account

    if "calls" in figures:
        from bench.calls_per_event import measure_calls

        _progress(
            f"1+2. calls per event, history {plan.history_sizes}, "
            f"{plan.call_repeats} run(s) per path"
        )
        with embedded_account() as account:
            results.calls = measure_calls(
                account, history_sizes=plan.history_sizes, repeats=plan.call_repeats
            )
    if "stop" in figures:
        from bench.time_to_stop import measure_time_to_stop

        _progress(f"8. time to the stop against Custodian's policy, {plan.stop_repeats} pairs")
        with embedded_account() as account:
            results.stop = measure_time_to_stop(account, repeats=plan.stop_repeats)
    if "warm" in figures:
        from bench.warm import measure_warm

        _progress(f"4. warm cost, {plan.warm_repeats} pairs per path")
        with embedded_account() as account:
            results.warm = measure_warm(account, repeats=plan.warm_repeats)
    if "door" in figures:
        from bench.door import measure_door

        _progress("5. filtered at the door")
        results.door = measure_door()
    if "sweeper" in figures:
        from bench.sweeper import measure_sweeper

        _progress(
            f"6. sweeper, {plan.sweeper_completed:,} completed, {plan.sweeper_in_progress} running"
        )
        results.sweeper = measure_sweeper(
            completed=plan.sweeper_completed,
            in_progress=plan.sweeper_in_progress,
            repeats=plan.sweeper_repeats,
        )
    if "package" in figures:
        from bench.package import measure_package

        _progress("7. package size")
        results.package = measure_package()
    if "cold" in figures:
        from bench.cold import measure_cold

        _progress(f"3. cold start, {plan.cold_repeats} rounds of 3 fresh processes")
        results.cold = measure_cold(repeats=plan.cold_repeats)


def _share_botocore_loader() -> None:
    """Every fresh guard runtime (one per policy) makes a boto3 session, and each session would
    parse the service models' JSON again; one loader for this process parses each model once
    (tests/conftest.py does the same). It only reads botocore's bundled data files, changes no
    behaviour, and does not reach the cold-start processes, which start from nothing."""
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda search_path_string=None: loader


if __name__ == "__main__":
    sys.exit(main())
