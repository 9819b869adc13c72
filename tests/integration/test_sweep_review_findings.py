"""Review 3 of the sweep's cursor (issue 14 item 2), through the real handlers on the embedded
AWS: each test shows a job, schedule or owed copy that no sweep looks at again after b00220b,
where the sweep before the cursor (b572fa5) did. They failed on b00220b; they are regression
tests now (every active schedule is judged every sweep; a first sweep writes no cursor until it
has judged every stopped job it asked; owed work of a resource that is gone is settled)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from functions.job_guard.app import lambda_handler
from functions.sweeper.app import lambda_handler as sweeper_handler
from ict_guard import remediation
from ict_guard.clone import relaunch_name
from ict_guard.ledger import KEY_PREFIX, SWEEP_INDEX_ATTR
from ict_guard.runtime import job_guard_runtime, sweeper_runtime
from ict_guard.sweeper import SweepIncomplete
from tests.integration.test_schedule_remediation import SCHEDULE, inline_network
from tests.integration.test_sweeper import SCHEDULED, lose_events

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _fresh_sweeper() -> Iterator[None]:
    sweeper_runtime.cache_clear()
    yield
    sweeper_runtime.cache_clear()


def sweep_at(lambda_context, at: dt.datetime, sweep_id: str) -> dict | None:
    """One scheduled sweep whose clock reads `at`; None when it failed (SweepIncomplete)."""
    sweeper_runtime().sweeper._clock = lambda: at
    try:
        return sweeper_handler({**SCHEDULED, "id": sweep_id}, lambda_context)
    except SweepIncomplete:
        return None


def dynamodb(sandbox):
    return sandbox.session.client("dynamodb")


def expire_idempotency_records(sandbox) -> int:
    """What DynamoDB's TTL does a day later: the 24-hour idempotency records are gone (the
    guard's ledger items and the sweep's cursor, kept 30 days, stay)."""
    db, table = dynamodb(sandbox), sandbox.env.table_name
    gone = 0
    for item in db.scan(TableName=table)["Items"]:
        if not item["id"]["S"].startswith(("ict-guard-ledger#", "ict-guard-sweep#")):
            db.delete_item(TableName=table, Key={"id": item["id"]})
            gone += 1
    return gone


def test_S3_a_schedule_alerted_on_in_notify_mode_is_never_fixed_after_the_switch_to_relaunch(
    sandbox, configure, lambda_context
):
    """What a user sees: README ("What it costs" / deployment) tells them to deploy with the
    default RemediationMode=notify, read the alerts, then switch to relaunch. A job alerted on
    in notify mode ends by itself; an unencrypted monitoring schedule runs for months. Before
    the cursor, every sweep listed every active schedule and judged it again once its 24-hour
    idempotency record expired, so after the switch the schedule was encrypted in place within
    a day. Now a schedule is listed only when its LastModifiedTime (or its definition) is newer
    than the cursor: the schedule the notify phase found is never judged again, its monitoring
    jobs run unencrypted forever, and no alert says so (the notify alert said the guard would
    leave it; nothing says the relaunch mode will not reach it). The same holds for a schedule
    whose exemption tag is removed (tags do not change LastModifiedTime)."""
    configure(REMEDIATION_MODE="notify")
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["notified"]
    now = dt.datetime.now(dt.UTC)
    first = sweep_at(lambda_context, now + dt.timedelta(minutes=15), "sweep-1")
    assert first is not None and first["listed"]["monitoring-schedule"] == 1

    # The operator is satisfied with the alerts and redeploys with RemediationMode=relaunch.
    configure(REMEDIATION_MODE="relaunch")
    sweeper_runtime.cache_clear()
    assert expire_idempotency_records(sandbox) > 0  # a day later
    for i, minutes in enumerate((25 * 60, 25 * 60 + 15, 48 * 60)):
        sweep_at(lambda_context, now + dt.timedelta(minutes=minutes), f"day-2-{i}")

    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True, (
        "two days after the switch to relaunch, the unencrypted schedule was never judged again"
    )


def test_S4_owed_copy_of_an_earlier_release_whose_resume_fails_once_in_the_first_sweep_is_never_made(
    sandbox, configure, inject, lambda_context, monkeypatch
):
    """What a user sees: an earlier release stopped a distributed training job and its run died
    before the copy (the job is Stopped, tagged relaunch-pending; its ledger item has no
    `sweep_index`, written before the index existed). After the upgrade the first sweep (no
    cursor) is the only one that lists stopped jobs for such items (README, Sweeper: "The first
    sweep after a deployment or an upgrade ... also asks the stopping and stopped jobs"; a training
    job has no state-change rule). Its CreateTrainingJob is throttled once: the sweep alerts
    `failed` and raises SweepIncomplete, "retried by Lambda and by the next sweep". But the cursor
    was written anyway (owed work holds no cursor, and a first sweep always writes it), so
    Lambda's retry and every later sweep have a cursor, list no stopped job, and the ledger item
    is not in SweepIndex: the job stopped by the guard is never re-launched. DESIGN.md: "a
    stopped job that nobody re-launches is the worst outcome"."""

    class Crash(BaseException):
        pass

    runtime = configure()
    inject(runtime.clients.sagemaker, "CreateTrainingJob", Crash(), times=1)
    sandbox.create_training_job("owed-ddp")
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    (message,) = sandbox.sqs.receive_message(QueueUrl=url)["Messages"]
    sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    lambda_context.remaining_ms = 1  # the crashed run's lock expires at once
    with pytest.raises(Crash):
        lambda_handler(json.loads(message["Body"]), lambda_context)
    lambda_context.remaining_ms = 120_000
    assert sandbox.tags("owed-ddp")["ict-guard:remediation"] == "relaunch-pending"
    lose_events(sandbox)
    # The item as the earlier release wrote it: no index key, no job name.
    key = {"id": {"S": KEY_PREFIX + "training-job/owed-ddp"}}
    dynamodb(sandbox).update_item(
        TableName=sandbox.env.table_name,
        Key=key,
        UpdateExpression="REMOVE #i, #n",
        ExpressionAttributeNames={"#i": SWEEP_INDEX_ATTR, "#n": "job_name"},
    )
    later = dt.datetime.now(dt.UTC).timestamp() + remediation.RESUME_AFTER_SECONDS
    monkeypatch.setattr(job_guard_runtime().guard, "_clock", lambda: later)

    inject(runtime.clients.sagemaker, "CreateTrainingJob", "ThrottlingException", times=1)
    now = dt.datetime.now(dt.UTC)
    first = sweep_at(lambda_context, now + dt.timedelta(minutes=5), "upgrade-sweep")
    assert first is None  # SweepIncomplete: "retried by Lambda and by the next sweep"

    sweeper_runtime.cache_clear()
    sweep_at(lambda_context, now + dt.timedelta(minutes=6), "upgrade-sweep")  # Lambda's retry
    sweeper_runtime.cache_clear()
    sweep_at(lambda_context, now + dt.timedelta(minutes=20), "next-sweep")
    assert relaunch_name("owed-ddp") in sandbox.training_job_names(), (
        "the training job the earlier release stopped is never re-launched"
    )


def test_S5_owed_work_of_a_schedule_deleted_meanwhile_is_never_settled_and_costs_every_sweep(
    sandbox, configure, inject, lambda_context
):
    """What a user sees: the guard recorded its intent for an unencrypted schedule and its run
    died before the UpdateMonitoringSchedule (the item is owed, in SweepIndex). The team then
    deletes the schedule (DeleteMonitoringSchedule exists; the schedule is gone). Every sweep
    reads the owed item, describes the schedule, gets "not found" (Outcome.NOT_FOUND) and moves
    on without settling it: the item stays in SweepIndex for its 30-day retention, so every sweep
    (2,880 of them) pays a DescribeMonitoringSchedule and, because it now always has work, a
    cursor write: "a sweep with nothing new makes ~10 calls" stops being true, silently. The
    owed work is not owed any more (nothing to fix); a gone resource should settle its item."""

    class Crash(BaseException):
        pass

    runtime = configure()
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", Crash(), times=1)
    sandbox.create_monitoring_schedule("churn-drift")
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    (message,) = sandbox.sqs.receive_message(QueueUrl=url)["Messages"]
    sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    lambda_context.remaining_ms = 1
    with pytest.raises(Crash):
        lambda_handler(json.loads(message["Body"]), lambda_context)
    lambda_context.remaining_ms = 120_000
    ledger = job_guard_runtime().guard.ledger
    assert [o.key for o in ledger.sweep_state().owed] == ["monitoring-schedule/churn-drift"]

    sandbox.sagemaker.delete_monitoring_schedule(MonitoringScheduleName="churn-drift")
    lose_events(sandbox)
    now = dt.datetime.now(dt.UTC)
    reports = []
    for i in range(3):
        sweeper_runtime.cache_clear()
        reports.append(sweep_at(lambda_context, now + dt.timedelta(minutes=15 * (i + 1)), f"sweep-{i}"))
    assert all(r is not None for r in reports)
    assert [r["listed"]["owed"] for r in reports] == [1, 0, 0], (
        "the owed item of a deleted schedule is read, described and kept owed by every sweep "
        f"(outcomes: {[r['outcomes'] for r in reports]})"
    )


def test_S1_end_to_end_a_schedule_the_first_sweep_failed_on_is_never_fixed(sandbox, configure, inject, lambda_context):
    """S1 through the real handlers (see tests/unit/test_sweep_review_findings_unit.py): the guard
    is deployed where an unencrypted schedule last changed 40 days ago runs. The first sweep's
    DescribeMonitoringSchedule is throttled once (botocore's retries spent): the sweep fails and
    holds the cursor at the schedule's LastModifiedTime, 40 days back, which the next sweep clips
    to its look-back window (now - 24 h). Lambda's retry and every later sweep list schedules
    changed in the last 24 hours only: the schedule is never judged, never encrypted, and after
    the first SweepFailures nothing reports it again."""
    from moto.sagemaker.models import sagemaker_backends

    from sandbox import monitoring_extension
    from tests.integration.test_sweeper import ACCOUNT, REGION

    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    store = monitoring_extension._store(sagemaker_backends[ACCOUNT][REGION])
    forty_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    for schedule in store.schedules.values():
        schedule.creation_time = schedule.last_modified_time = forty_days_ago
    lose_events(sandbox)  # the guard was not deployed yet when it was created

    inject(runtime.clients.sagemaker, "DescribeMonitoringSchedule", "ThrottlingException", times=1)
    now = dt.datetime.now(dt.UTC)
    assert sweep_at(lambda_context, now, "first-sweep") is None  # SweepIncomplete
    listed = []
    for i, minutes in enumerate((1, 15, 30, 24 * 60)):  # Lambda's retry, the next sweeps, a day later
        sweeper_runtime.cache_clear()
        report = sweep_at(lambda_context, now + dt.timedelta(minutes=minutes), f"sweep-{i}")
        listed.append(report["listed"]["monitoring-schedule"] if report else None)

    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True, (
        f"the schedule was never listed again (listed per sweep: {listed})"
    )


def test_S3_a_schedule_whose_exemption_tag_is_removed_is_never_fixed(sandbox, lambda_context):
    """S3, second way in: an unencrypted schedule tagged ict-guard:exempt=true is alerted on and
    left alone (as documented). The team removes the tag (DeleteTags changes no LastModifiedTime
    and no configuration). Before the cursor, the sweep judged every active schedule again once
    its 24-hour record expired and encrypted it; now it is never listed again."""
    arn = sandbox.create_monitoring_schedule("churn-drift")
    sandbox.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "ict-guard:exempt", "Value": "true"}])
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["notified"]
    now = dt.datetime.now(dt.UTC)
    first = sweep_at(lambda_context, now + dt.timedelta(minutes=15), "sweep-1")
    assert first is not None and first["listed"]["monitoring-schedule"] == 1

    sandbox.sagemaker.delete_tags(ResourceArn=arn, TagKeys=["ict-guard:exempt"])
    assert expire_idempotency_records(sandbox) > 0  # a day later
    for i, minutes in enumerate((25 * 60, 25 * 60 + 15, 48 * 60)):
        sweeper_runtime.cache_clear()
        sweep_at(lambda_context, now + dt.timedelta(minutes=minutes), f"day-2-{i}")

    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True, (
        "two days after its exemption was removed, the unencrypted schedule was never judged again"
    )
