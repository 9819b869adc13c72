"""Regression tests from a second review of issue 11's fixes (schedules, the failure-alert rule):
each one reproduced a way a real account lost or doubled something (findings R1-R7), fixed since."""

from __future__ import annotations

import pytest

from sandbox import monitoring_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
SCHEDULE, PROCESSING = "monitoring-schedule", "processing-job"


def _flag(sandbox, name):
    config = sandbox.describe_kind(SCHEDULE, name)["MonitoringScheduleConfig"]
    return config["MonitoringJobDefinition"]["NetworkConfig"].get("EnableInterContainerTrafficEncryption")


def test_R1_a_failed_stop_of_the_running_execution_is_never_retried(sandbox, configure, inject):
    """Relaunch mode, a schedule created unencrypted whose execution is running when the guard
    fixes it. UpdateMonitoringSchedule works, StopProcessingJob fails once (retries spent). The
    'failed' alert says 'Lambda will retry'; the retry finds the schedule encrypted with an
    unsettled ledger entry: RESUME, whose in-place plan (plan._resume_plan) has no StopChild. The
    unencrypted distributed execution runs to its end, and the person gets a second alert saying
    the schedule was encrypted in place, as if all was done."""
    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    inject(runtime.clients.sagemaker, "StopProcessingJob", "ThrottlingException", times=1)
    sandbox.deliver()
    assert _flag(sandbox, "churn-drift") is True
    status = sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"]
    assert status in ("Stopping", "Stopped"), (status, [a["action"] for a in sandbox.alerts()])


def _after_call_fails_once(client, operation, code="ServiceUnavailable"):
    """The call reaches AWS and takes effect; its answer is lost (what a timeout looks like once
    botocore's retries are spent)."""
    from botocore.exceptions import ClientError

    state = {"left": 1}

    def hook(**_):
        if state["left"]:
            state["left"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": "injected after the call"}}, operation)

    client.meta.events.register(f"after-call.sagemaker.{operation}", hook)
    return state


def test_R2_a_lost_update_answer_leaves_the_running_execution_and_says_nothing_more_to_do(sandbox, configure):
    """UpdateMonitoringSchedule takes effect, its answer is lost. No alert (nothing stopped yet),
    Lambda retries: the schedule is encrypted, the ledger unconfirmed, so RESUME says 'nothing
    more to do' (NOTIFIED) -- and the running unencrypted distributed execution, which the first
    run was about to stop, is never stopped: the only alert tells the reader all is well."""
    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    _after_call_fails_once(runtime.clients.sagemaker, "UpdateMonitoringSchedule")
    sandbox.deliver()
    assert _flag(sandbox, "churn-drift") is True
    status = sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"]
    alerts = [(a["action"], a.get("reason")) for a in sandbox.alerts()]
    assert status in ("Stopping", "Stopped"), (status, alerts)


def test_R3_a_notify_mode_schedule_is_alerted_twice_when_the_notified_record_fails(sandbox, configure, monkeypatch):
    """Notify mode: Publish(notified), then RecordNotified (a DynamoDB PutItem). When that write
    fails (throttled, retries spent) the run raises after the alert went out; Lambda's retry
    alerts again. One fact, two alerts (the executor's _settle swallows a failed write after an
    alert for exactly this reason; RecordNotified does not)."""
    from ict_guard.ledger import RemediationLedger

    configure(REMEDIATION_MODE="notify")
    original = RemediationLedger.record_notified
    state = {"left": 1}

    def flaky(self, job_key, version):
        if state["left"]:
            state["left"] -= 1
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem")
        return original(self, job_key, version)

    monkeypatch.setattr(RemediationLedger, "record_notified", flaky)
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    actions = [a["action"] for a in sandbox.alerts()]
    assert actions == ["notified"], actions


def test_R4_a_sweep_during_a_fix_resumes_it_and_the_fix_is_alerted_twice(sandbox, configure, inject):
    """The fix of a schedule is between its UpdateMonitoringSchedule and its Publish (SNS slow,
    botocore retrying) when the sweep (or the guard's own UpdateMonitoringSchedule event) reaches
    the schedule: a new configuration, so a new idempotency key; encrypted with an unsettled
    ledger entry: RESUME, and the RESUME_AFTER_SECONDS guard applies only to purpose 'resume',
    not to a 'remediate' run decided RESUME. Both runs publish encrypted_in_place."""
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef

    runtime = configure()
    guard = runtime.guard
    sandbox.create_monitoring_schedule("churn-drift")
    state = {"done": False}

    def concurrent_sweep(**_):
        if not state["done"]:
            state["done"] = True
            guard.remediate(
                JobRef.for_job(
                    JobKind.MONITORING_SCHEDULE, "churn-drift", account=ACCOUNT, region=REGION, event_id="sweep:s-1"
                ),
                busy_is_ok=True,
            )

    runtime.clients.sns.meta.events.register("before-call.sns.Publish", concurrent_sweep)
    sandbox.deliver()
    actions = [a["action"] for a in sandbox.alerts()]
    assert actions == ["encrypted_in_place"], actions


def _expire_everything(sandbox):
    """What 30 days do: the idempotency records (24 h) and the ledger (RETENTION_SECONDS) expire."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = sandbox.env.table_name
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})


def test_R5_a_superseded_fix_leaves_relaunch_pending_and_a_month_later_claims_the_owners_fix(
    sandbox, configure, lambda_context
):
    """The owner encrypts the schedule while the guard's fix runs (after its pending tag, before
    its re-read): the guard sees it 'changed since it was read' and settles 'superseded' -- but
    the schedule keeps ict-guard:remediation=relaunch-pending for good. Once the ledger item
    expires (30 days), a sweep reads the stale tag as unsettled guard work on an encrypted
    schedule: RESUME, and an encrypted_in_place alert claims the owner's change as the guard's
    (the F15 'never claimed' rule holds only while the ledger remembers)."""
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef

    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    state = {"done": False}

    def owner_encrypts(**_):
        if not state["done"]:
            state["done"] = True
            config = sandbox.describe_kind(SCHEDULE, "churn-drift")["MonitoringScheduleConfig"]
            config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = True
            sandbox.sagemaker.update_monitoring_schedule(
                MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=config
            )

    runtime.clients.sagemaker.meta.events.register("after-call.sagemaker.AddTags", owner_encrypts)
    sandbox.deliver()
    assert state["done"]
    assert _flag(sandbox, "churn-drift") is True
    first = [a["action"] for a in sandbox.alerts()]
    tag = sandbox.tags_of(SCHEDULE, "churn-drift").get("ict-guard:remediation")

    _expire_everything(sandbox)
    runtime.guard.remediate(
        JobRef.for_job(
            JobKind.MONITORING_SCHEDULE, "churn-drift", account=ACCOUNT, region=REGION, event_id="sweep:s-30"
        )
    )
    later = [(a["action"], a.get("reason")) for a in sandbox.alerts()]
    assert tag != "relaunch-pending" and not later, (first, tag, later)


def test_R6_a_stop_that_keeps_failing_sends_a_failed_alert_per_attempt_though_nothing_stopped(
    sandbox, configure, inject
):
    """run.stopped is set before Stop* is called (for an answer lost after the stop took effect).
    A Stop* that keeps failing (an SCP's AccessDenied, throttling) therefore counts as 'stopped'
    on every attempt: each Lambda attempt publishes 'REMEDIATION FAILED ... Lambda will retry'
    although nothing was stopped -- F3b's one-alert-per-attempt, back for every job kind, and
    again at every sweep (15 minutes) while the job runs."""
    runtime = configure()
    inject(runtime.clients.sagemaker, "StopTrainingJob", "AccessDeniedException", times=50)
    sandbox.create_training_job("churn-train")
    sandbox.deliver()
    status = sandbox.describe("churn-train")["TrainingJobStatus"]
    actions = [a["action"] for a in sandbox.alerts()]
    assert actions.count("failed") <= 1, (status, actions)


def test_R7_a_notify_mode_schedule_stopped_and_started_unchanged_is_alerted_again(sandbox, configure):
    """'Alerted on once per configuration' keys on LastModifiedTime, which moves without any
    change of configuration (here StopMonitoringSchedule/StartMonitoringSchedule, as the embedded
    SageMaker assumes; in a real account perhaps the Pending->Scheduled transition too, which the
    README calls 'more reads' only). Same configuration, second 'notified' alert; in relaunch mode
    the same drift makes the re-read before the update settle a fix as 'superseded' with no event
    to judge the 'change' until the sweep."""
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef

    runtime = configure(REMEDIATION_MODE="notify")
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["notified"]
    sandbox.sagemaker.stop_monitoring_schedule(MonitoringScheduleName="churn-drift")
    sandbox.sagemaker.start_monitoring_schedule(MonitoringScheduleName="churn-drift")
    runtime.guard.remediate(
        JobRef.for_job(JobKind.MONITORING_SCHEDULE, "churn-drift", account=ACCOUNT, region=REGION, event_id="sweep:s-2")
    )
    assert [a["action"] for a in sandbox.alerts()] == [], "same configuration, alerted again"


def test_R1b_stop_mode_a_failed_stop_of_the_running_execution_is_never_retried(sandbox, configure, inject):
    """R1 in stop mode: StopMonitoringSchedule works, StopProcessingJob fails once. The retry's
    RESUME (intent STOP) publishes 'stopped' and settles without a StopChild: the execution the
    guard set out to stop runs on, unencrypted and distributed."""
    runtime = configure(REMEDIATION_MODE="stop")
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    inject(runtime.clients.sagemaker, "StopProcessingJob", "ThrottlingException", times=1)
    sandbox.deliver()
    status = sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"]
    assert status in ("Stopping", "Stopped"), (status, [a["action"] for a in sandbox.alerts()])
