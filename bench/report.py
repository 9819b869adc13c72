"""RESULTS.md: the machine, the headline, and every figure with its median and spread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.calls_per_event import ROUND_TRIP_SECONDS, CallsResult, PathCounts
from bench.cold import BARE, GUARD_TRACED, GUARD_UNTRACED, ColdResult
from bench.door import COMPLIANT_NO_VPC, DoorResult
from bench.package import TARGET_BYTES, PackageResult
from bench.scenarios import PATHS
from bench.sweeper import NEW_JOBS, SweeperResult, SweepSize
from bench.time_to_stop import (
    CUSTODIAN,
    MAX_ROUNDS_BEFORE_STOP,
    TARGET_RATIO,
    TimeToStopResult,
    timeline,
)
from bench.warm import WarmResult
from ict_guard.jobs import JOB_APIS

# Issue 14: a cold start (imports + first event, as deployed with X-Ray) at most 1.3x bare boto3.
COLD_TARGET = 1.3
WARM_TARGET = 1.3
SWEEP_TARGET_CALLS = 10  # issue 14: a sweep with 500 running jobs, none new ("~10")
# What a decision may read before the stop: each kind's Describe* and ListTags.
_DECISION_READS = {api.describe_operation for api in JOB_APIS.values()} | {"ListTags"}

Add = Callable[[str], None]


@dataclass
class Results:
    mode: str  # "full" or "reduced"
    command: str
    machine: dict[str, str]
    calls: CallsResult | None = None
    cold: ColdResult | None = None
    warm: WarmResult | None = None
    door: DoorResult | None = None
    sweeper: SweeperResult | None = None
    package: PackageResult | None = None
    stop: TimeToStopResult | None = None
    seconds: float = 0.0


def _para(text: str) -> str:
    """A paragraph written across source lines, as one Markdown line."""
    return " ".join(text.split()) + "\n"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*cells: str) -> str:
    return _row(*cells) + "\n" + _row(*("---" for _ in cells))


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "none"


def _counts_cell(counts: PathCounts) -> str:
    parts = (counts.account, counts.idempotency, counts.ledger)
    return " + ".join(p.count() for p in parts) + f" = {counts.total.count()}"


def render(results: Results) -> str:
    out: list[str] = []
    add = out.append
    add("# Benchmarks: what one event costs, and how that grows\n")
    add(
        _para(f"""
        Written by `{results.command}` ({results.mode} run, {results.seconds:.0f} s) on the embedded
        AWS (moto 5 with the project's SageMaker extension), in-process except the cold start.
        Counts come from botocore event hooks on the guard's own clients. Every timing is a median
        over repeated runs, measured interleaved with its baseline and given as a ratio to it: the
        absolute numbers are those of moto on this machine, not of AWS. Spread: p25-p75 with 4 or
        more values, min-max below that.""")
    )
    add("## Machine\n")
    add(_header("", ""))
    for key in ("date", "cpu", "load", "python", "os", "packages", "commit"):
        label = {"load": "load average at start (1, 5, 15 min)"}.get(key, key)
        add(_row(label, results.machine.get(key, "")))
    add("")
    add(
        _para("""
        The machine is shared (2 cores; other engineers' test runs may be going on, see the load
        average): absolute times are noisy, ratios of interleaved runs much less so, and CPU-time
        ratios least.""")
    )
    _headline(results, add)
    if results.calls:
        _calls_section(results.calls, add)
        _stop_section(results.calls, add)
    if results.stop:
        _time_to_stop_section(results.stop, add)
    if results.cold:
        _cold_section(results.cold, add)
    if results.warm:
        _warm_section(results.warm, add)
    if results.door:
        _door_section(results.door, add)
    if results.sweeper:
        _sweeper_section(results.sweeper, add)
    if results.package:
        _package_section(results.package, add)
    _limits_section(results, add)
    _method_section(add)
    return "\n".join(out).rstrip() + "\n"


def headline(results: Results) -> list[tuple[str, str, str, str]]:
    """(figure, result, target, verdict) rows; also printed by the command."""
    rows: list[tuple[str, str, str, str]] = []
    calls = results.calls
    if calls:
        for key in ("ignored", "stop", "relaunch-sg", "tuning", "unrelaunchable", "processing", "automl-v2"):
            by_history = calls.counts.get(key)
            if by_history:
                counts = by_history[min(by_history)]
                text = (
                    f"{counts.account.count()} on the account + {counts.idempotency.count()} "
                    f"idempotency + {counts.ledger.count()} ledger"
                )
                rows.append((f"AWS calls per event, {key}", text, "-", ""))
        grows = [k for k in calls.counts if calls.grows(k)]
        sizes = ", ".join(f"{h:,}" for h in calls.history_sizes)
        text = "unchanged on every path" if not grows else f"grow: {grows}"
        rows.append((f"calls with {sizes} past jobs", text, "must not grow", _verdict(not grows)))
        positions = [c[min(c)].stop for c in calls.counts.values() if c[min(c)].stop]
        if positions:
            ok = all(
                p.first_mutating_account_call and set(p.account_reads_before) <= _DECISION_READS
                for p in positions
            )
            p = positions[0]
            text = (
                f"call {p.index} of the guard, {p.account_index} on the account, after "
                f"{' + '.join(p.account_reads_before)}"
            )
            rows.append(("position of the stop", text, "first mutating call", _verdict(ok)))
    if results.stop:
        stop = results.stop
        guard, custodian = stop.paths["stop"].seconds.median, stop.paths[CUSTODIAN].seconds.median
        text = (
            f"{stop.ratios().median:.2f} ({guard * 1e3:.0f} ms vs {custodian * 1e3:.0f} ms, "
            f"{stop.round_trip * 1e3:.0f} ms per round trip, stop mode, no history, warm)"
        )
        rows.append(("time to the stop / Cloud Custodian's", text, f"<= {TARGET_RATIO}", _verdict(stop.met())))
        relaunch = stop.paths["relaunch"]
        rounds = sorted({r.rounds_before_stop for r in relaunch.runs})
        text = (
            f"{'/'.join(map(str, rounds))} on the relaunch path "
            f"({relaunch.seconds.median * 1e3:.0f} ms to the stop); "
            f"{stop.paths['stop'].typical.rounds_before_stop} in stop mode, "
            f"{stop.paths[CUSTODIAN].typical.rounds_before_stop} for Custodian's"
        )
        rows.append(
            (
                "sequential round trips before the stop",
                text,
                f"<= {MAX_ROUNDS_BEFORE_STOP} (relaunch)",
                _verdict(stop.relaunch_rounds_met()),
            )
        )
    if results.cold and results.cold.runs.get(GUARD_TRACED):
        ratio = results.cold.ratios(GUARD_TRACED).median
        text = f"{ratio:.2f} as deployed (X-Ray active)"
        if results.cold.runs.get(GUARD_UNTRACED):
            text += f"; {results.cold.ratios(GUARD_UNTRACED).median:.2f} tracing off"
        rows.append(
            (
                "cold start / bare boto3 (stop path)",
                text,
                f"<= {COLD_TARGET}",
                _verdict(ratio <= COLD_TARGET),
            )
        )
    if results.warm and results.warm.costs:
        steady = [c for c in results.warm.costs.values() if not c.waits_on_purpose]
        if steady:
            worst = max(steady, key=lambda c: c.ratios().median)
            text = (
                f"{worst.ratios().median:.2f} wall, {worst.ratios('cpu').median:.2f} CPU "
                f"({worst.path.key})"
            )
            ok = worst.ratios().median <= WARM_TARGET
            rows.append(
                ("warm cost / bare boto3 (worst path)", text, f"<= {WARM_TARGET}", _verdict(ok))
            )
        for cost in results.warm.costs.values():
            if cost.waits_on_purpose:
                text = (
                    f"{cost.ratios().median:.0f}x wall: the handler waits "
                    f"{cost.waiting.median:.1f} s "
                    f"per event; {cost.ratios('cpu').median:.2f} CPU"
                )
                ok = cost.ratios().median <= WARM_TARGET
                rows.append(
                    (
                        f"warm cost / bare boto3, {cost.path.key}",
                        text,
                        f"<= {WARM_TARGET}",
                        _verdict(ok),
                    )
                )
    if results.door:
        dropped, total = results.door.share_dropped(COMPLIANT_NO_VPC)
        all_dropped, all_total = results.door.share_dropped()
        text = (
            f"compliant without VPC {_percent(dropped, total)}; "
            f"whole corpus {_percent(all_dropped, all_total)}"
        )
        ok = total > 0 and dropped == total
        rows.append(("filtered at the door", text, "100 % of compliant without VPC", _verdict(ok)))
    if results.sweeper:
        text = "; ".join(
            f"{s.in_progress} running: {SweepSize.calls(s.first).count()} calls, "
            f"then {SweepSize.calls(s.again).count()} with none new"
            for s in results.sweeper.sizes
        )
        worst = max(SweepSize.calls(s.again).median for s in results.sweeper.sizes)
        label = f"sweeper, {results.sweeper.completed:,} completed jobs"
        rows.append((label, text, "none new: <= ~10 calls", _verdict(worst <= SWEEP_TARGET_CALLS)))
    if results.package:
        size = results.package.zipped_bytes
        rows.append(
            (
                "package (zipped functions + ict_guard layer)",
                f"{size / 1024:.1f} KB",
                f"<= {TARGET_BYTES // 1024} KB",
                _verdict(results.package.within_target),
            )
        )
    return rows


def _headline(results: Results, add: Add) -> None:
    add("## Headline\n")
    add(_header("figure", "result", "target", ""))
    for row in headline(results):
        add(_row(*row))
    add("")


def _calls_section(calls: CallsResult, add: Add) -> None:
    add("## 1. AWS calls per event, by path\n")
    add(
        _para(f"""
        Each path starts with a real user call (`CreateTrainingJob`, `CreateHyperParameterTuningJob`
        on the embedded SageMaker); its CloudTrail-shaped event goes through template.yaml's rules
        and the real handler runs on what they route. Cells: calls on the account + Powertools
        idempotency calls + ledger calls (both on the guard's own DynamoDB table) = total, median
        over {calls.repeats} run(s) per path, range shown only where runs differ. *Follow-up
        events*: events the guard's own calls route back to the function (its encrypted re-launch
        in a VPC comes back for the group check). *Sequence*: `→` separates round trips made one
        after the other; `+` joins calls sent together (each before the others answered: the
        guard sends them on threads of its own), measured with a modelled round trip of
        {ROUND_TRIP_SECONDS * 1e3:.0f} ms per call, which the handler times below include.""")
    )
    add(
        _header(
            "path",
            "outcome",
            "calls (account + idempotency + ledger)",
            "follow-up events",
            "sequence",
        )
    )
    smallest = min(calls.history_sizes)
    for path in PATHS:
        counts = calls.counts[path.key][smallest]
        rounds = counts.runs[0].log.rounds()
        sequence = " → ".join(" + ".join(r) for r in rounds) + ("" if counts.stable else " (runs differed)")
        add(
            _row(
                path.title, counts.outcome, _counts_cell(counts), counts.follow_up_events, sequence
            )
        )
    add("")
    sizes = ", ".join(f"{h:,}" for h in calls.history_sizes)
    seeding = ", ".join(f"{s:.1f} s for {h:,}" for h, s in calls.seeding_seconds.items())
    add(f"### With history: {sizes} completed jobs in the account\n")
    add(
        _para(f"""
        The history is written straight into moto's SageMaker backend (the sandbox's
        `EmulatedTrainingJob`, finished as Completed or Stopped, created 30 days ago, a third of
        them unencrypted), so that Describe, ListTags and List* see it like any other job; one job
        in ten carries the guard's `ict-guard:remediation` tag and a settled ledger item, written to
        the guard's table with BatchWriteItem. Through the API, 10,000 jobs would take minutes and
        emit 10,000 CloudTrail events. Seeding took {seeding or "nothing"}.""")
    )
    add(
        _header(
            "path",
            *(f"{h:,} jobs" for h in calls.history_sizes),
            "grows",
            "handler wall / CPU (informative)",
        )
    )
    for path in PATHS:
        if path.key not in calls.counts:
            continue
        by_history = calls.counts[path.key]
        cells = [_counts_cell(by_history[h]) for h in calls.history_sizes]
        times = "; ".join(
            f"{by_history[h].handler_seconds.median * 1e3:.0f} / "
            f"{by_history[h].handler_cpu_seconds.median * 1e3:.0f}"
            for h in calls.history_sizes
        )
        add(_row(path.key, *cells, "**yes**" if calls.grows(path.key) else "no", f"{times} ms"))
    unattributed = sum(c.unattributed for by in calls.counts.values() for c in by.values())
    add("")
    add(
        _para(f"""
        Calls made during an invocation by a client without the guard's user agent: {unattributed}.
        Handler times are medians per history size in a warm container, wall then CPU; a wall time
        far above the CPU time is waiting.""")
    )


def _stop_section(calls: CallsResult, add: Add) -> None:
    add("## 2. Where the stop happens\n")
    add(
        _para("""
        Position of the stop call in the guard's sequence; *on the account* leaves out the guard's
        own table; *before* means in an earlier round trip, *sent with* in the stop's own.
        Target: the first call that changes the account, after no more reads than the decision
        needs (the describe, and the tags that carry the exemption). Before it the guard writes
        only to its own table: the Powertools idempotency record (sent with the reads) and, by
        design, the ledger item that makes the owed re-launch durable before the stop (DESIGN.md,
        failure semantics); a plain stop records it too, since its alert is owed afterwards.""")
    )
    add(
        _header(
            "path",
            "stop call",
            "position (all calls)",
            "position (on the account)",
            "account reads before",
            "account writes before",
            "own-table calls before",
            "sent with it",
            "round trips before",
            "first mutating account call",
        )
    )
    for path in PATHS:
        if path.stop_operation is None:
            continue
        if path.key not in calls.counts:
            add(_row(path.key, path.stop_operation, "not measured", "", "", "", "", "", "", ""))
            continue
        positions = {h: c.stop for h, c in calls.counts[path.key].items()}
        stop = positions[min(positions)]
        if stop is None:
            add(_row(path.key, path.stop_operation, "**never called**", "", "", "", "", "", "", "**no**"))
            continue
        same = all(p == stop for p in positions.values())
        add(
            _row(
                path.key,
                stop.operation,
                f"{stop.index}" + ("" if same else " (varies with history)"),
                stop.account_index,
                ", ".join(stop.account_reads_before) or "-",
                ", ".join(stop.account_writes_before) or "-",
                ", ".join(stop.table_calls_before) or "-",
                ", ".join(stop.sent_with) or "-",
                stop.rounds_before,
                "yes" if stop.first_mutating_account_call else "**no**",
            )
        )
    add("")


def _time_to_stop_section(stop: TimeToStopResult, add: Add) -> None:
    add("## 8. Time to the stop, against Cloud Custodian's policy\n")
    add(
        _para(f"""
        The same event (an unencrypted 2-instance training job just created) handled warm by the
        guard's real handler and by a model of Cloud Custodian's CloudTrail-mode `sagemaker-job`
        policy with a `stop` action: bare boto3 clients making its calls in its order
        (ListTrainingJobs, every page, since `sagemaker-job` has no server-side lookup by id;
        DescribeTrainingJob; ListTags; StopTrainingJob; read from c7n's source, cited in
        bench/time_to_stop.py). No history: every other job is removed from the account before
        each run. Network: {stop.round_trip * 1e3:.0f} ms modelled per HTTP attempt, slept on the
        thread that makes the call, the same for both sides; moto's own work comes on top. *Time
        to the stop*: handler entry to the Stop* request being sent. {stop.repeats} interleaved
        pairs after one unmeasured pair; the ratio is taken per pair.""")
    )
    add(_header("side", "time to the stop", "ratio to Custodian's", "round trips before the stop", "target"))
    custodian = stop.paths[CUSTODIAN]
    for key in ("stop", "relaunch", CUSTODIAN):
        times = stop.paths[key]
        rounds = "/".join(str(r) for r in sorted({r.rounds_before_stop for r in times.runs}))
        if key == "stop":
            ratio, target = stop.ratios().ratio(), f"ratio <= {TARGET_RATIO}: {_verdict(stop.met())}"
        elif key == "relaunch":
            ratio = stop.ratios("relaunch").ratio()
            target = f"<= {MAX_ROUNDS_BEFORE_STOP} round trips: {_verdict(stop.relaunch_rounds_met())}"
        else:
            ratio, target = "1", "-"
        add(_row(f"{times.title} ({key})", times.seconds.ms(), ratio, rounds, target))
    add("")
    add(
        _para(f"""
        Timelines of the median run of each (ms from the handler's entry; each call a bar from
        sent to answered, `S` where the stop is sent; calls of one round overlap). The guard's
        stop path: {_round_text(stop.paths["stop"].typical.rounds())}. Relaunch path:
        {_round_text(stop.paths["relaunch"].typical.rounds())}. Custodian's:
        {_round_text(custodian.typical.rounds())}.""")
    )
    for key in ("stop", "relaunch", CUSTODIAN):
        add(f"{stop.paths[key].title} ({key}):\n")
        add("```\n" + "\n".join(timeline(stop.paths[key].typical)) + "\n```\n")


def _round_text(rounds: list[list[str]]) -> str:
    return " → ".join(" + ".join(f"`{c}`" for c in r) for r in rounds)


def _cold_section(cold: ColdResult, add: Add) -> None:
    add("## 3. Cold start\n")
    add(
        _para(f"""
        A fresh `python` process imports `functions/job_guard/app.py` and handles one stop-path
        event (mode `stop`, unencrypted 2-instance job); the baseline is a fresh process that
        imports boto3 and makes the same {cold.calls} calls with bare clients
        ({", ".join(cold.sequence)}). Both talk to one `moto.server.ThreadedMotoServer` (with the
        SageMaker extension) in the
        benchmark's process through `AWS_ENDPOINT_URL`, each run on its own running job, in a
        Lambda-like environment (`LAMBDA_TASK_ROOT`, `AWS_EXECUTION_ENV`, the function's variables
        from template.yaml). The processes of a round run back to back in rotating order;
        {cold.repeats} rounds after one unmeasured round. *Inside*: from the script's first line to
        the handler's return (imports + first event: what the function adds to Lambda's own init).
        *Process*: spawn to exit as the parent sees it, interpreter start-up included. *CPU*: the
        child's own CPU time over *inside*; the server's work, done in the parent, is left out,
        which makes it the strictest ratio.""")
    )
    if cold.error:
        add(f"Not measured: {cold.error}\n")
        return
    add(
        _header(
            "process",
            "inside: median (spread)",
            "of which imports",
            "process wall",
            "ratio inside / bare",
            "ratio process / bare",
            "ratio CPU / bare",
        )
    )
    for variant in (GUARD_TRACED, GUARD_UNTRACED, BARE):
        if variant not in cold.runs:
            continue
        if variant == BARE:
            ratios = ["1", "1", "1"]
        else:
            ratios = [cold.ratios(variant, clock).ratio() for clock in ("inside", "wall", "cpu")]
        add(
            _row(
                variant,
                cold.summary(variant).ms(),
                cold.summary(variant, "imported").ms(),
                cold.summary(variant, "wall").ms(),
                *ratios,
            )
        )
    add("")
    met = cold.ratios(GUARD_TRACED).median <= COLD_TARGET
    cached, own = cold.own_bytecode()
    bytecode = (
        f"All {own} of the guard's own modules were compiled from source in every process, as on a "
        "Lambda cold start: the layer is uploaded without bytecode caches and /opt is read-only."
        if not cached
        else f"{cached} of the guard's {own} own modules were loaded from bytecode caches left in "
        "the working tree, which a deployed layer does not have: the figure is better than a "
        "Lambda cold start by their compile time (delete the `__pycache__` folders and rerun)."
    )
    add(
        _para(f"""
        Target <= {COLD_TARGET} (inside, as deployed): {_verdict(met)}. Top-level packages the
        guard's process imports that the bare one does not:
        {", ".join(cold.extra_modules(GUARD_TRACED))}. {bytecode}""")
    )
    if cold.imports:
        add(
            _para("""
            Where the import time goes (`python -X importtime`, one run of each process, self times
            summed per top-level package, largest difference first; `-X importtime` slows imports
            down, so read the shares, not the sums):""")
        )
        add(_header("package", "guard, as deployed", "guard, tracing disabled", "bare boto3"))
        for name, traced, bare in cold.import_table(GUARD_TRACED):
            untraced = cold.imports.get(GUARD_UNTRACED, {}).get(name, 0.0)
            add(_row(name, f"{traced:.0f} ms", f"{untraced:.0f} ms", f"{bare:.0f} ms"))
        totals = [
            sum(cold.imports.get(v, {}).values()) for v in (GUARD_TRACED, GUARD_UNTRACED, BARE)
        ]
        add(_row("**all imports**", *(f"{t:.0f} ms" for t in totals)))
        add("")


def _warm_section(warm: WarmResult, add: Add) -> None:
    add("## 4. Warm cost\n")
    add(
        _para(f"""
        The handler's time for one event in a warm container (in-process, the runtime and its
        clients already built), against bare boto3 clients replaying the guard's recorded calls for
        another job (same operations and payloads; names, group ids and idempotency keys
        substituted). Guard and bare runs alternate, {warm.repeats} pairs per path after one
        unmeasured pair; ratios are taken per pair. Both sides go through the same call-recording
        hooks and the same in-process moto. *Wall* is what Lambda bills; *CPU* is the process's CPU
        time, every thread's (the guard sends its decision reads on two threads of its own; moto's
        work included), which other processes on the machine do not inflate and which leaves out
        deliberate waits. No network is modelled here: AWS runs on the same CPU, so calls the guard
        overlaps cannot save anything in this figure and cost their threads; section 8 models the
        round trip.""")
    )
    add(
        _header(
            "path",
            "calls",
            "guard wall",
            "bare wall",
            "ratio wall",
            "ratio CPU",
            "guard off-CPU",
            f"target <= {WARM_TARGET} (wall)",
        )
    )
    for path in PATHS:
        cost = warm.costs.get(path.key)
        if cost is None:
            continue
        add(
            _row(
                path.key,
                cost.calls,
                cost.summary("guard").ms(),
                cost.summary("bare").ms(),
                cost.ratios().ratio(),
                cost.ratios("cpu").ratio(),
                cost.waiting.ms(),
                _verdict(cost.ratios().median <= WARM_TARGET),
            )
        )
    add("")


def _door_section(door: DoorResult, add: Add) -> None:
    add("## 5. Filtered at the door\n")
    add(
        _para("""
        Every event of `events/` (the real-shaped corpus) is put on moto's EventBridge with
        template.yaml's rules installed (`sandbox.template.install_rules`, as tests/template does);
        an event is *dropped* when no rule routes it to any function. Classes come from the event
        alone.""")
    )
    add(_header("class", "dropped before any invocation"))
    for kind in door.kinds:
        add(_row(kind, _percent(*door.share_dropped(kind))))
    add(_row("**whole corpus**", _percent(*door.share_dropped())))
    add("")
    add(_header("event", "class", "invokes"))
    for event in door.events:
        add(_row(f"`{event.file}`", event.kind, ", ".join(event.invoked) or "nothing (dropped)"))
    add("")
    mismatches = door.manifest_mismatches
    if mismatches:
        add(f"**Differs from events/manifest.json**: {', '.join(mismatches)}.\n")
    else:
        add("Every event reached exactly the functions `events/manifest.json` names.\n")
    add(
        _para("""
        The corpus is made of edge cases, so its overall share says little about a real account;
        what matters is that compliant jobs without a VPC (the common case once a team has adopted
        encryption, and the guard's own re-launches) never cost an invocation. Unencrypted
        single-instance jobs do reach the function: EventBridge cannot add up `instanceGroups`, so
        the guard describes them and does nothing (the *ignored* path). Security-group rule changes
        reach the security-group guard whatever the group: a pattern cannot see the group's
        `ict-guard:managed` tag.""")
    )


def _sweeper_section(sweeper: SweeperResult, add: Add) -> None:
    add("## 6. Sweeper\n")
    add(
        _para(f"""
        {sweeper.completed:,} completed jobs (seeded in moto's backend, created 30 days ago) and N
        running, compliant jobs (encrypted, no VPC: nothing to remediate, so this is the cost of
        looking), in a fresh account per run; `functions/sweeper/app.py` runs on a scheduled event
        with template.yaml's `SweeperFunction` environment; {sweeper.repeats} run(s) per size.
        Three sweeps 15 minutes apart (the sweeper's clock moved on): the *first* meets every
        running job for the first time; the *second* finds none new (the cursor the first one
        recorded); the *third* finds {NEW_JOBS} jobs created since the second. Target: with 500
        running jobs of which none is new, at most ~10 calls.""")
    )
    add(
        _header(
            "running jobs",
            "first sweep: calls",
            "time",
            "none new: calls",
            "time",
            f"{NEW_JOBS} new: calls",
            "calls of the sweep with none new",
        )
    )
    for size in sweeper.sizes:
        add(
            _row(
                size.in_progress,
                SweepSize.calls(size.first).count(),
                SweepSize.seconds(size.first).ms(),
                SweepSize.calls(size.again).count(),
                SweepSize.seconds(size.again).ms(),
                SweepSize.calls(size.with_new).count(),
                SweepSize.by_operation(size.again),
            )
        )
    add("")


def _package_section(package: PackageResult, add: Add) -> None:
    add("## 7. Package size\n")
    add(
        _para("""
        What `sam deploy` uploads for our code: every `CodeUri` and our layer's `ContentUri` in
        template.yaml, zipped with deflate, without `__pycache__`. AWS's Powertools layer
        (referenced by ARN) is not ours and not counted; boto3 comes with the Lambda runtime.""")
    )
    add(_header("resource", "path", "files", "raw", "zipped"))
    for artifact in package.artifacts:
        add(
            _row(
                artifact.logical_id,
                f"`{artifact.path}`",
                artifact.files,
                f"{artifact.raw_bytes / 1024:.1f} KB",
                f"{artifact.zipped_bytes / 1024:.1f} KB",
            )
        )
    raw = sum(a.raw_bytes for a in package.artifacts) / 1024
    zipped = f"**{package.zipped_bytes / 1024:.1f} KB**"
    verdict = f"(target <= {TARGET_BYTES // 1024} KB: {_verdict(package.within_target)})"
    add(
        _row(
            "**total**",
            "",
            sum(a.files for a in package.artifacts),
            f"{raw:.1f} KB",
            f"{zipped} {verdict}",
        )
    )
    add("")


def _limits_section(results: Results, add: Add) -> None:
    add("## What limits the figures\n")
    cold = results.cold
    if cold and cold.imports and cold.runs.get(GUARD_TRACED) and cold.runs.get(BARE):
        shares = _import_shares(cold)
        ratio = cold.ratios(GUARD_TRACED).median
        added = cold.summary(GUARD_TRACED).median - cold.summary(BARE).median
        imports = cold.summary(GUARD_TRACED, "imported").median - cold.summary(BARE, "imported").median
        verdict = (
            f"within the target of {COLD_TARGET}"
            if ratio <= COLD_TARGET
            else f"{ratio - COLD_TARGET:.2f} above the target of {COLD_TARGET}"
        )
        add(
            _para(f"""
            **Cold start.** As deployed the guard's cold start is {ratio:.2f}x bare boto3's,
            {verdict}: it adds {added * 1000:.0f} ms (medians), its imports {imports * 1000:.0f} ms
            more than boto3's alone. In the import profile above: the guard's own modules
            {shares["own"]:.0f} % of its import time, most of it in {_top_own_modules(cold)}
            (compiled from source on every cold start, and the dataclasses they define); the X-Ray
            SDK with wrapt, which imports asyncio, {shares["xray"]:.0f} % (Powertools' Tracer
            imports it, and must before the first call: it patches botocore so that every AWS call
            is traced); Powertools' logger, metrics and idempotency; pydantic
            {shares["pydantic"]:.0f} %. Done for this figure (issue 14): the settings and the event
            records are checked by hand instead of with pydantic, whose import alone was the
            largest single extra (`ict_guard/events.py` gives the measure; the tests check both
            accept and refuse the same inputs); the EventBridge envelope is no longer imported
            from Powertools' models package (whose import builds the models of every event source
            Powertools supports); the copy's modules (clone, preflight, algorithms) load only on
            the paths that build a copy. Before: the EC2 and SNS clients are created only when a
            path calls them, the security-group guard's and the sweeper's modules load only in
            their own functions, and X-Ray patches only botocore. Not done, and why: shipping the
            layer with compiled bytecode would remove the compile time, but needs a build step the
            deployment does not have (`sam deploy` uploads the folder as it is); Lambda SnapStart
            would take the imports out of the cold start, but AWS documents that infrequently
            invoked functions may not see the same improvement, its snapshot cache is billed while
            the version is active, and SAM cannot switch it by a parameter on an existing stack, so
            it is not adopted (README, "Cold start").""")
        )
    if results.warm:
        worst = max(results.warm.costs.values(), key=lambda c: c.ratios().median)
        add(
            _para(f"""
            **Warm cost.** The worst path is `{worst.path.key}` at {worst.ratios().median:.2f}x bare
            boto3 (target {WARM_TARGET}). Since issue 14 the guard sends `Describe*` and `ListTags`
            on two threads of its own, with the idempotency lock: in Lambda those calls wait on the
            network, so they overlap a round trip (section 8: two or three fewer before the stop);
            in this figure, with AWS in-process and no network modelled, they cannot overlap
            anything and cost their two threads, about 1 ms of CPU per event (the *ignored* path
            was 1.19x before). A path whose own work is small shows it most.""")
        )
    add(
        _para("""
        **Tuning re-launch.** SageMaker refuses a warm start from a parent whose training
        definition differs in EnableInterContainerTrafficEncryption, so the encrypted copy never
        waits for its original to reach `Stopped`: one event stops it and creates the copy (path
        `tuning`), at the cost of a training-job re-launch. A job the guard cannot re-launch as the
        same workload (path `unrelaunchable`, a pipeline step) costs the reads and one alert.""")
    )
    add(
        _para("""
        **Calls.** Every path starts with a Powertools `PutItem` and ends with its `UpdateItem`
        (the idempotency record); paths that stop a job add the ledger's `PutItem` before the stop
        and its `UpdateItem` at the end. These four table calls are the
        price of exactly-once remediation across Lambda's retries and duplicate deliveries; the
        lock costs no round trip of its own since the decision's reads are sent with it. No path
        lists or searches anything, which is why the counts do not depend on the account's
        history.""")
    )


def _import_shares(cold: ColdResult) -> dict[str, float]:
    traced = cold.imports.get(GUARD_TRACED, {})
    total = sum(traced.values()) or 1.0
    families = {
        "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
        "own": ("ict_guard", "functions"),
        "xray": ("aws_xray_sdk", "wrapt", "asyncio"),
    }
    return {
        name: 100 * sum(traced.get(p, 0.0) for p in packages) / total
        for name, packages in families.items()
    }


def _top_own_modules(cold: ColdResult, top: int = 3) -> str:
    ranked = sorted(cold.own_modules.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"`{name}` ({ms:.0f} ms)" for name, ms in ranked) or "-"


def _method_section(add: Add) -> None:
    add("## How to reproduce\n")
    add(
        "```\n"
        "make bench      # every figure, full repeats; rewrites bench/RESULTS.md (minutes)\n"
        "make bench-ci   # the same figures with few repeats and a small history, printed only\n"
        "```\n"
    )
    add(
        _para("""
        `tests/bench/` (marker `bench`, part of `make test`) runs the reduced call-count benchmark
        and asserts the counts per path, the position of the stop, that counts do not grow with
        history, and the round trips of the time-to-stop figure (which calls are sent together,
        which wait for which); it also runs every other figure's harness small. It never asserts a
        timing.""")
    )
