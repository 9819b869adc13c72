"""The reduced benchmark, so that `make bench` cannot rot: call counts per path, the position of
the stop, which calls are sent together (their round trips), counts that do not grow with the
account's history, and every other figure's harness run small. Nothing here asserts a timing."""

from __future__ import annotations

import pytest

from bench.account import embedded_account
from bench.calls_per_event import CallsResult, measure_calls
from bench.scenarios import PATHS, path_by_key
from bench.time_to_stop import CUSTODIAN, measure_time_to_stop
from bench.warm import measure_warm
from ict_guard.jobs import JOB_APIS

pytestmark = pytest.mark.bench

HISTORY = (0, 200)

# Calls per event: (on the account, Powertools idempotency, remediation ledger). A change here is
# a change in what every event costs: update the table together with bench/RESULTS.md.
EXPECTED_COUNTS = {
    "ignored": (2, 2, 0),  # Describe, ListTags
    "notify": (3, 2, 0),  # + Publish
    "stop": (5, 2, 2),  # + Stop, AddTags stopped
    "relaunch": (7, 2, 2),  # + Stop, AddTags pending, CreateTrainingJob, AddTags relaunched
    # + DescribeSecurityGroups, DescribeSubnets (the job's VPC: no group outside it is changed),
    # 2 x AuthorizeIngress, CreateTags
    "relaunch-sg": (12, 2, 2),
    "sg-check": (8, 2, 0),  # Describe, ListTags, the group repair (with DescribeSubnets), Publish
    # As "relaunch": the copy cannot warm-start from its original, so nothing waits for the stop.
    "tuning": (7, 2, 2),
    "unrelaunchable": (3, 2, 0),  # Describe, ListTags, Publish (action needed); nothing stopped
    # The same path as "relaunch", through each kind's own Describe, Stop and Create.
    "processing": (7, 2, 2),
    "automl-v1": (7, 2, 2),
    "automl-v2": (7, 2, 2),
    # Nothing to stop. DescribeMonitoringSchedule three times: for its LastModifiedTime (the
    # idempotency key's version, before the record), to decide, and right before the update (a
    # change made meanwhile is not overwritten); ListTags, AddTags pending, UpdateMonitoringSchedule,
    # Publish, AddTags encrypted-in-place. The ledger: the configuration last alerted on (GetItem),
    # the intent, the confirmed update, the settle.
    "schedule": (8, 2, 4),
    # + DescribeDataQualityJobDefinition twice (the version holds its CreationTime; to decide) and its
    # ListTags, CreateDataQualityJobDefinition, AddTags replaced on the old definition.
    "schedule-definition": (13, 2, 4),
}
LOCK = "ddb:PutItem[idempotency]"
INTENT = "ddb:PutItem[ledger]"
# The stop's round trips: what is sent in rounds before it, and what is sent with it. The decision's
# reads go with the idempotency lock (round 1); every path with a stop owes something after it (a
# re-launch, or at least its alert) and makes its intent durable in a round of its own (round 2).
STOP_ROUNDS = {
    key: ([LOCK, INTENT], [], 2)
    for key in ("stop", "relaunch", "relaunch-sg", "tuning", "processing", "automl-v1", "automl-v2")
}
DECISION_READS = {
    "DescribeTrainingJob",
    "DescribeHyperParameterTuningJob",
    "DescribeProcessingJob",
    "DescribeAutoMLJobV2",
    "DescribeMonitoringSchedule",
    "DescribeDataQualityJobDefinition",
    "ListTags",
}


def test_calls_per_event_the_stop_and_history() -> None:
    """One test, so that parallel workers do not measure the same thing twice."""
    with embedded_account() as account:
        calls = measure_calls(account, history_sizes=HISTORY, repeats=1, warmup=False)
        warm = measure_warm(account, repeats=1, paths=(path_by_key("stop"),))

    assert set(EXPECTED_COUNTS) == {p.key for p in PATHS}
    problems = []
    for path in PATHS:
        problems += _call_problems(calls, path.key)
    assert problems == []

    # The warm-cost baseline replays exactly the guard's calls.
    cost = warm.costs["stop"]
    assert cost.calls == sum(EXPECTED_COUNTS["stop"])
    assert len(cost.guard) == len(cost.bare) == 1


def _call_problems(calls: CallsResult, key: str) -> list[str]:
    by_history = calls.counts[key]
    first = by_history[HISTORY[0]]
    log = first.runs[0].log
    problems = []
    if first.key_counts() != EXPECTED_COUNTS[key]:
        problems.append(f"{key}: calls {first.key_counts()}, expected {EXPECTED_COUNTS[key]}: {log.sequence()}")
    if log.unattributed:
        others = [c.label() for c in log.unattributed]
        problems.append(f"{key}: calls from clients that are not the guard's: {others}")
    if any(c.error_code for c in log.guard_calls):
        problems.append(f"{key}: failed calls: {log.sequence()}")
    if calls.grows(key):
        problems.append(
            f"{key}: calls change with history: " + "; ".join(f"{h}: {c.sequence}" for h, c in by_history.items())
        )
    operation = path_by_key(key).stop_operation
    if operation is None:
        return problems
    stop = first.stop
    if stop is None:
        return [*problems, f"{key}: {operation} never called: {log.sequence()}"]
    # The first call that changes the account, right after the describe and the tags; before
    # it only the guard's own table: the idempotency record, then (when a re-launch is owed) the
    # durable intent.
    if not stop.first_mutating_account_call or stop.account_index != 3:
        before = stop.account_reads_before + stop.account_writes_before
        problems.append(f"{key}: account calls before the stop: {before}")
    if not set(stop.account_reads_before) <= DECISION_READS:
        problems.append(f"{key}: reads before the stop beyond the decision's: {stop.account_reads_before}")
    table_before, sent_with, rounds_before = STOP_ROUNDS[key]
    if (
        stop.table_calls_before != table_before
        or stop.sent_with != sent_with
        or stop.rounds_before != rounds_before
        or stop.index != 5
    ):
        problems.append(
            f"{key}: the stop is call {stop.index}, round {stop.rounds_before + 1}, after "
            f"{stop.table_calls_before} on the table, with {stop.sent_with}: {log.rounds()}"
        )
    # Round 1: the idempotency lock with the decision's reads, each sent before the others answered.
    if sorted(log.rounds()[0]) != sorted([LOCK, *(f"sm:{r}" for r in stop.account_reads_before)]):
        problems.append(f"{key}: the first round trip is {log.rounds()[0]}")
    return problems


def test_door_drops_every_compliant_job_without_vpc() -> None:
    from bench.door import COMPLIANT_NO_VPC, measure_door

    result = measure_door()
    dropped, total = result.share_dropped(COMPLIANT_NO_VPC)
    assert total >= 1 and dropped == total
    assert result.manifest_mismatches == []


def test_package_fits_the_budget() -> None:
    from bench.package import TARGET_BYTES, measure_package

    result = measure_package()
    assert {"JobGuardFunction", "IctGuardLayer"} <= {a.logical_id for a in result.artifacts}
    assert result.zipped_bytes <= TARGET_BYTES


def test_sweeper_calls_grow_with_running_jobs_only() -> None:
    from bench.sweeper import SweepSize, measure_sweeper

    # More completed jobs than one List page holds (100): a sweep paging through history shows.
    small = measure_sweeper(completed=0, in_progress=(2,), repeats=1)
    large = measure_sweeper(completed=250, in_progress=(2,), repeats=1)
    # A sweep that fails raises here: there is no "not measured".
    assert SweepSize.calls(large.sizes[0].first).median == SweepSize.calls(small.sizes[0].first).median


def test_a_sweep_with_nothing_new_costs_the_same_whatever_runs() -> None:
    """Issue 14: with the cursor, a sweep that finds none new makes its List* calls and one Query
    (no Describe, no idempotency read per running job), however many jobs run."""
    from bench.sweeper import NEW_JOBS, SweepSize, measure_sweeper

    result = measure_sweeper(completed=120, in_progress=(0, 30), repeats=1)
    quiet = [SweepSize.calls(size.again).median for size in result.sizes]
    assert quiet[0] == quiet[1] == len(JOB_APIS) + 1
    operations = {c.operation for c in result.sizes[1].again[0].log.guard_calls}
    assert operations == {*(api.list_operation for api in JOB_APIS.values()), "Query"}
    # What is new costs what it costs (each new compliant job: idempotency, Describe, ListTags,
    # idempotency), the same with 0 or 30 running.
    new = [SweepSize.calls(size.with_new).median for size in result.sizes]
    assert new[0] == new[1] > quiet[0] + 3 * NEW_JOBS


def test_cold_start_harness_runs_the_handler_and_the_bare_replay() -> None:
    from bench.cold import BARE, GUARD_TRACED, measure_cold

    result = measure_cold(repeats=1, warmup=False, profile_imports=False, variants=(GUARD_TRACED, BARE))
    assert result.calls == sum(EXPECTED_COUNTS["stop"])
    assert "sagemaker:stop_training_job" in result.sequence
    assert [r.outcome for r in result.runs[GUARD_TRACED]] == ["stop"]
    assert [r.outcome for r in result.runs[BARE]] == ["replayed"]
    # The stop path loads no module of the copy (the relaunch paths import them when they plan one),
    # no pydantic and no Powertools parser (ict_guard/events.py says why); the report counts
    # the guard's own modules.
    modules = set(result.runs[GUARD_TRACED][0].modules)
    assert not {"ict_guard.clone", "ict_guard.preflight", "ict_guard.algorithms"} & modules
    assert not {"pydantic", "pydantic_core", "aws_lambda_powertools.utilities.parser"} & modules
    assert "ict_guard.events" in modules
    cached, own = result.own_bytecode()
    assert own == len([m for m in modules if m.split(".")[0] in ("ict_guard", "functions")])
    assert 0 <= cached <= own


def test_time_to_the_stop_round_trips_against_custodians_policy() -> None:
    """Which calls the guard sends together and which wait for which, against Custodian's four in
    a row; the times themselves are bench/RESULTS.md's, never asserted."""
    with embedded_account() as account:
        result = measure_time_to_stop(account, repeats=1)

    describe, tags, stop = "sm:DescribeTrainingJob", "sm:ListTags", "sm:StopTrainingJob"
    after_stop = [["sns:Publish"], ["sm:AddTags"], ["ddb:UpdateItem[ledger]"], ["ddb:UpdateItem[idempotency]"]]
    for run in result.paths["stop"].runs:  # two round trips before the stop: the intent first
        assert run.rounds() == [[LOCK, describe, tags], [INTENT], [stop], *after_stop]
        assert run.rounds_before_stop == 2
    for run in result.paths["relaunch"].runs:  # two: the intent and request are owed before it
        assert run.rounds()[:3] == [[LOCK, describe, tags], [INTENT], [stop]]
        assert run.rounds_before_stop == 2
    for run in result.paths[CUSTODIAN].runs:
        assert run.rounds() == [["sm:ListTrainingJobs"], [describe], [tags], [stop]]
        assert run.rounds_before_stop == 3
    assert len(result.paths["stop"].runs) == len(result.paths[CUSTODIAN].runs) == 1
