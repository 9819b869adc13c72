"""Regression tests from a review of issue 11 (monitoring schedules, mostly): each one reproduced
a way the first version lost a configuration, missed a job, or said the wrong thing, found by a
reviewer trying to break it (findings F1-F16). Kept as they were written, so each still shows
what it once caught; where the fix changed what is right, the test says so."""

from __future__ import annotations

import pytest

from ict_guard.clone import relaunch_name
from sandbox.environment import data_quality_job_definition_request

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
SCHEDULE, PROCESSING, DATA_QUALITY = "monitoring-schedule", "processing-job", "data-quality-job-definition"


def copy_name(sandbox, definition):
    """The name of a definition's copy: salted with its CreationTime (fixed after F1)."""
    created = sandbox.describe_kind(DATA_QUALITY, definition)["CreationTime"]
    return relaunch_name(definition, salt=str(created))


def _config(sandbox, name):
    return sandbox.describe_kind(SCHEDULE, name)["MonitoringScheduleConfig"]


def test_F1_a_recreated_definition_is_replaced_by_the_stale_copy_of_its_predecessor(sandbox):
    """Definitions are immutable, so teams delete and re-create one under the same name to change
    it. The copy's name is a hash of the original's NAME only, and an existing copy is accepted as
    'own' on its relaunched-from tag alone: the second schedule is pointed at the copy of the OLD
    definition (old output location, old instance type...) and the new configuration is lost."""
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    assert _config(sandbox, "churn-dq-hourly")["MonitoringJobDefinitionName"] == copy_name(sandbox, "churn-dq")
    sandbox.alerts()

    # The team changes its definition the only way SageMaker allows: delete, re-create.
    sandbox.sagemaker.delete_data_quality_job_definition(JobDefinitionName="churn-dq")
    request = data_quality_job_definition_request(sandbox.env, "churn-dq")
    request["DataQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] = "s3://ml-monitoring/v2/"
    request["JobResources"]["ClusterConfig"]["InstanceType"] = "ml.m5.4xlarge"
    sandbox.sagemaker.create_data_quality_job_definition(**request)
    sandbox.create_monitoring_schedule("churn-dq-daily", definition="churn-dq")
    sandbox.deliver()

    used = _config(sandbox, "churn-dq-daily")["MonitoringJobDefinitionName"]
    runs = sandbox.describe_kind(DATA_QUALITY, used)
    assert runs["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert runs["DataQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == "s3://ml-monitoring/v2/"
    assert runs["JobResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.4xlarge"


def test_F2_a_change_made_while_the_guard_works_is_overwritten_by_the_guards_stale_update(sandbox, configure):
    """The guard builds its UpdateMonitoringSchedule from a Describe and sends it whole, with no
    check that the schedule is still the one it read (its own `JobRef.version` is never compared
    again). A data scientist's update landing between the two (here: a new schedule expression
    and a new output location) is silently reverted, and the event of that update then finds the
    schedule encrypted and does nothing: the change is lost without a word."""
    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    mine = _config(sandbox, "churn-drift")
    mine["ScheduleConfig"]["ScheduleExpression"] = "cron(0 0 ? * * *)"
    mine["MonitoringJobDefinition"]["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] = (
        "s3://ml-monitoring/new-place/"
    )
    state = {"done": False, "describes": 0}

    # Fixed: the guard reads the schedule again right before its update and leaves a schedule
    # changed since its first read to that change's own event. The user's update lands after the
    # guard's evaluation (its second DescribeMonitoringSchedule) and before that check. (Between
    # the check and the update, one round trip, SageMaker offers no conditional update: the
    # README's known limits.)
    def users_update_lands_first(**_):
        state["describes"] += 1
        if state["describes"] == 3 and not state["done"]:
            state["done"] = True
            sandbox.sagemaker.update_monitoring_schedule(
                MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=mine
            )

    runtime.clients.sagemaker.meta.events.register(
        "before-call.sagemaker.DescribeMonitoringSchedule", users_update_lands_first
    )
    sandbox.deliver()
    assert state["done"]
    config = _config(sandbox, "churn-drift")
    assert config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 0 ? * * *)"
    assert (
        config["MonitoringJobDefinition"]["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"]
        == "s3://ml-monitoring/new-place/"
    )


def test_F3_a_crash_between_the_definition_copy_and_the_update_ends_with_one_alert_per_fact(sandbox, configure, inject):
    """CreateDataQualityJobDefinition succeeds, UpdateMonitoringSchedule fails (retries spent):
    Lambda's retry must finish the work, with no second copy, and the person gets one
    encrypted_in_place alert (a 'failed' alert for a transient error that the retry fixes,
    seconds later, is a second alert for one fact)."""
    runtime = configure()
    creates = inject(runtime.clients.sagemaker, "CreateDataQualityJobDefinition", times=0)
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", "ServiceUnavailable", times=1)
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    config = _config(sandbox, "churn-dq-hourly")
    assert config["MonitoringJobDefinitionName"] == copy_name(sandbox, "churn-dq")
    assert creates["seen"] >= 1
    actions = [a["action"] for a in sandbox.alerts()]
    assert actions == ["encrypted_in_place"], actions


def test_F4_a_refused_schedule_update_alerts_with_a_command_that_cannot_work(sandbox, configure, inject):
    """The definition copy is created, then SageMaker refuses UpdateMonitoringSchedule. The alert
    (CRITICAL, action needed) says 'SageMaker refused the encrypted copy' (the copy was created;
    the update was refused) and hands the person
    `aws sagemaker update-monitoring-schedule --cli-input-json <the CreateDataQualityJobDefinition
    request>`: no MonitoringScheduleName, members the operation does not take. The person is
    told to run a command that fails, for the one step that is left."""
    runtime = configure()
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", "ValidationException", times=5)
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    (alert,) = sandbox.alerts()
    assert alert["action"] == "failed"
    assert "refused the encrypted copy" not in alert["reason"], alert["reason"]
    command = alert["relaunch_command"]
    assert command.startswith("aws sagemaker update-monitoring-schedule")
    assert "MonitoringScheduleName" in command, command
    assert "JobDefinitionName" not in alert["relaunch_request"]


def _sweep(sandbox, lambda_context, sweep_id):
    from functions.sweeper.app import lambda_handler as sweeper_handler
    from tests.integration.test_sweeper import SCHEDULED, lose_events

    lose_events(sandbox)
    return sweeper_handler({**SCHEDULED, "id": sweep_id}, lambda_context)


def _expire_idempotency_records(sandbox):
    """What 24 hours do (IDEMPOTENCY_EXPIRY_SECONDS): the run-once records expire; the ledger stays."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = sandbox.env.table_name
    for item in dynamodb.scan(TableName=table)["Items"]:
        key = item["id"]["S"]
        if not key.startswith("ict-guard-ledger#"):
            dynamodb.delete_item(TableName=table, Key={"id": {"S": key}})


def test_F5_an_exempt_or_notify_mode_schedule_is_alerted_on_again_every_day_forever(sandbox, configure, lambda_context):
    """A job is alerted on once, then at most daily while it runs (hours or days). A schedule is
    'running' (Scheduled) for months: in notify mode, or exempt by tag, the same unchanged
    schedule -- same LastModifiedTime, the very key the guard says makes it 'judged once per
    configuration' -- is alerted on again as soon as the 24-hour run-once record expires, every
    day, for as long as it exists. One fact, an unbounded number of alerts."""
    from ict_guard.runtime import sweeper_runtime

    configure(REMEDIATION_MODE="notify")
    sweeper_runtime.cache_clear()
    try:
        sandbox.create_monitoring_schedule("churn-drift")
        sandbox.deliver()
        assert [a["action"] for a in sandbox.alerts()] == ["notified"]
        first = sandbox.describe_kind(SCHEDULE, "churn-drift")["LastModifiedTime"]
        _sweep(sandbox, lambda_context, "sweep-1")
        assert sandbox.alerts() == []  # the same day: one record per configuration
        _expire_idempotency_records(sandbox)  # a day later
        _sweep(sandbox, lambda_context, "sweep-2")
        assert sandbox.describe_kind(SCHEDULE, "churn-drift")["LastModifiedTime"] == first  # unchanged
        assert sandbox.alerts() == []
    finally:
        sweeper_runtime.cache_clear()


def test_F6_an_execution_whose_schedule_was_deleted_runs_unencrypted_without_an_alert(sandbox):
    """A processing job launched by a monitoring schedule is 'left to its parent'. When the schedule
    is gone (DeleteMonitoringSchedule while its execution runs, or the schedule deleted before the
    sweep reaches the execution), the parent's remediation answers not-found and the child's
    outcome is leave-to-parent: a distributed unencrypted processing job keeps running and nobody
    is told. Before issue 11 such a child was at least notified (policy.decide's parent rule)."""
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef
    from ict_guard.runtime import job_guard_runtime
    from sandbox import monitoring_extension

    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    from tests.integration.test_sweeper import lose_events

    lose_events(sandbox)
    sandbox.sagemaker.delete_monitoring_schedule(MonitoringScheduleName="churn-drift")
    assert sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] == "InProgress"

    guard = job_guard_runtime().guard
    child = guard.remediate(
        JobRef.for_job(JobKind.PROCESSING, execution, account=ACCOUNT, region=REGION, event_id="sweep:s-1")
    )
    stopped = sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] in ("Stopping", "Stopped")
    alerted = bool(sandbox.alerts())
    assert stopped or alerted, child


def _scan(*args):
    import json

    from click.testing import CliRunner

    from ict_guard_cli.app import cli

    result = CliRunner().invoke(cli, ["--region", REGION, "--json", "scan", *args], catch_exceptions=False)
    return json.loads(result.stdout), result


def test_F7_scan_misses_a_schedule_running_an_unencrypted_job_definition(sandbox):
    """`ict-guard scan` judges a schedule by Job.from_describe of DescribeMonitoringSchedule alone
    (scan.py), never reading the job definition it names (remediation.resolve_definition): a
    schedule running an unencrypted 2-instance data-quality definition -- the case the demo and
    the README lead with -- is counted 'below 2 instances' and is not in the report, while
    `explain` and the guard both call it unencrypted and distributed."""
    from tests.integration.test_sweeper import lose_events

    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    lose_events(sandbox)
    document, _ = _scan("--kind", "monitoring")
    names = [row["name"] for row in document["jobs"]["unencrypted"]]
    assert "churn-dq-hourly" in names, document["jobs"]


def test_F8_scan_calls_a_schedules_execution_a_training_job_of_a_tuning_job(sandbox):
    """The human report folds a schedule's execution (a processing job) under the schedule as
    '(+1 training jobs)' and counts it among '... counted with their tuning job': wording from
    the tuning-only days, wrong for every new kind."""
    from click.testing import CliRunner

    from ict_guard_cli.app import cli
    from sandbox import monitoring_extension
    from tests.integration.test_sweeper import lose_events

    sandbox.create_monitoring_schedule("churn-drift")
    monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    lose_events(sandbox)
    out = CliRunner().invoke(cli, ["--region", REGION, "scan"], catch_exceptions=False).stdout
    assert "training jobs)" not in out and "counted with their tuning job" not in out, out


def test_F9_the_alert_for_a_second_fix_is_never_sent_when_its_first_try_is_lost(sandbox, configure, inject):
    """The guard fixes a schedule (tag ict-guard:remediation=encrypted-in-place, which stays).
    Someone turns encryption off again; the guard updates it again but its alert fails (SNS
    throttled: Publish and the failure alert both). Lambda's retry finds the schedule encrypted
    with an unsettled ledger entry: RESUME, whose Publish is skipped `unless_tagged` -- and the
    tag is the FIRST fix's. The second fix is settled as 'alert already sent'; none ever was."""
    runtime = configure()
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["encrypted_in_place"]

    config = _config(sandbox, "churn-drift")
    config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = False
    sandbox.sagemaker.update_monitoring_schedule(MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=config)
    inject(runtime.clients.sns, "Publish", "ThrottlingException", times=2)
    sandbox.deliver()
    assert (
        _config(sandbox, "churn-drift")["MonitoringJobDefinition"]["NetworkConfig"][
            "EnableInterContainerTrafficEncryption"
        ]
        is True
    )
    assert [a["action"] for a in sandbox.alerts()] == ["encrypted_in_place"]


def test_F10_a_second_refused_update_of_a_changed_schedule_is_never_alerted(sandbox, configure, inject):
    """SageMaker refuses the guard's UpdateMonitoringSchedule: one 'failed' alert, and the schedule
    is tagged relaunch-refused (the tag stays). Weeks later the owner changes the schedule (a new
    configuration, still unencrypted: a new fact, a new idempotency key) and the guard's update
    is refused again: copy_refused's Publish is skipped `unless_tagged=relaunch-refused`, so the
    new unencrypted configuration runs with no alert at all."""
    runtime = configure()
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", "ValidationException", times=2)
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["failed"]

    config = _config(sandbox, "churn-drift")
    config["ScheduleConfig"]["ScheduleExpression"] = "cron(0 0 ? * * *)"
    sandbox.sagemaker.update_monitoring_schedule(MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=config)
    sandbox.deliver()
    assert (
        _config(sandbox, "churn-drift")["MonitoringJobDefinition"]["NetworkConfig"][
            "EnableInterContainerTrafficEncryption"
        ]
        is False
    )
    assert [a["action"] for a in sandbox.alerts()] == ["failed"]


def test_F11_a_definition_with_50_tags_is_replaced_without_a_word_on_the_missing_links(sandbox):
    """A job definition holding 50 user tags: its copy carries those 50 and so no
    ict-guard:relaunched-from tag, and the old definition has no room for
    ict-guard:remediation=replaced. For jobs the plan says so in the alert's notes (plan._tag,
    clone.build_encrypted_copy's note); for a definition `_definition_copy` drops the copy's notes
    and `_in_place_plan` skips the tag silently: the alert's notes are empty, and nothing in
    either definition links them -- a person auditing definitions cannot tell which replaced which."""
    request = data_quality_job_definition_request(sandbox.env, "churn-dq")
    request["Tags"] = [{"Key": f"team-{i}", "Value": "ml"} for i in range(50)]
    sandbox.sagemaker.create_data_quality_job_definition(**request)
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    copy = copy_name(sandbox, "churn-dq")
    assert _config(sandbox, "churn-dq-hourly")["MonitoringJobDefinitionName"] == copy
    assert "ict-guard:relaunched-from" not in sandbox.tags_of(DATA_QUALITY, copy)
    assert "ict-guard:remediation" not in sandbox.tags_of(DATA_QUALITY, "churn-dq")
    (alert,) = sandbox.alerts()
    assert any("churn-dq" in note for note in alert["notes"]), alert["notes"]


def test_F12_the_notify_alert_for_a_schedule_never_names_the_definition_that_must_change(sandbox, configure):
    """Notify mode, a schedule running the unencrypted data-quality definition churn-dq. The
    alert says 'unencrypted distributed monitoring schedule; mode is notify' for churn-dq-hourly.
    The schedule has no NetworkConfig of its own; the flag is in churn-dq, which cannot be
    updated (it must be re-created and the schedule pointed at it). Nothing in the alert names
    churn-dq or says so: the reader is sent to the wrong resource."""
    configure(REMEDIATION_MODE="notify")
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    (alert,) = sandbox.alerts()
    text = " ".join([alert["_subject"], alert["reason"], *alert["notes"]])
    import re

    assert re.search(r"churn-dq(?!-hourly)", text), text


def test_F13_a_failure_after_the_update_leaves_the_replaced_definition_untagged_for_good(sandbox, configure):
    """The plan tags the schedule, then the old definition ('replaced'). If the second AddTags
    fails (throttled, retries spent), Lambda's retry finds the schedule encrypted with an
    unfinished ledger entry: RESUME for an in-place kind publishes and tags the schedule only
    (plan._resume_plan), so the old definition never gets ict-guard:remediation=replaced -- the
    README's promise ('the old definition is tagged') is broken by one transient error."""
    runtime = configure()
    calls = {"n": 0}

    def second_add_tags_fails(**_):
        from botocore.exceptions import ClientError

        calls["n"] += 1
        if calls["n"] == 2:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "AddTags")

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.AddTags", second_add_tags_fails)
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()
    assert _config(sandbox, "churn-dq-hourly")["MonitoringJobDefinitionName"] == copy_name(sandbox, "churn-dq")
    assert calls["n"] >= 2
    assert sandbox.tags_of(DATA_QUALITY, "churn-dq").get("ict-guard:remediation") == "replaced"


@pytest.mark.parametrize(
    ("action", "action_needed"),
    [("stopped", False), ("stopped", True), ("notified", True), ("failed", True)],
)
def test_F14_the_next_step_of_a_schedule_alert_tells_the_reader_to_start_a_job(action, action_needed):
    """wording.JobWording.next_step has no schedule branch but ENCRYPTED_IN_PLACE: a schedule the
    guard stopped (stop mode), or could not update, is told 'start the job again with
    EnableInterContainerTrafficEncryption=True' / 'stop the job and start it again the way it was
    started' / 'start the job again with encryption yourself'. A schedule is not started as a job:
    the reader must update the schedule (or re-create its job definition) and StartMonitoringSchedule."""
    from ict_guard.alerts import Alert, AlertAction
    from ict_guard.wording import wording_for

    alert = Alert(
        action=AlertAction(action),
        resource_type=SCHEDULE,
        name="churn-dq-hourly",
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/churn-dq-hourly",
        account=ACCOUNT,
        region=REGION,
        event_id="e-1",
        reason="unencrypted distributed monitoring schedule",
        mode="stop",
        instance_count=2,
        action_needed=action_needed,
    )
    text = wording_for(SCHEDULE).next_step(alert)
    assert "job" not in text.replace("job definition", ""), text


def test_F15_the_owner_fixes_a_schedule_the_guard_failed_on_and_the_guard_claims_the_fix(sandbox, configure, inject):
    """Every attempt of the guard's UpdateMonitoringSchedule fails (throttled; Lambda's retries
    spent, the event in the dead-letter queue): the ledger keeps an unsettled RELAUNCH intent
    under the schedule's unversioned key. The owner then turns encryption on himself. His update's
    event finds the schedule encrypted with that unsettled history: decide() answers RESUME
    ('encrypted in place by the guard'), and the guard alerts 'Turned encryption on in ...' and
    tags the schedule encrypted-in-place -- a change it never made."""
    runtime = configure()
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", "ThrottlingException", times=50)
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    sandbox.alerts()
    assert (
        _config(sandbox, "churn-drift")["MonitoringJobDefinition"]["NetworkConfig"][
            "EnableInterContainerTrafficEncryption"
        ]
        is False
    )

    config = _config(sandbox, "churn-drift")
    config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = True
    sandbox.sagemaker.update_monitoring_schedule(MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=config)
    sandbox.deliver()
    actions = [a["action"] for a in sandbox.alerts()]
    assert "encrypted_in_place" not in actions, actions
    assert sandbox.tags_of(SCHEDULE, "churn-drift").get("ict-guard:remediation") != "encrypted-in-place"


def test_F3b_a_schedule_update_that_keeps_failing_sends_a_failed_alert_per_lambda_attempt(sandbox, configure, inject):
    """Each Lambda attempt of a schedule starts over as a fresh RELAUNCH plan (nothing was stopped,
    so there is no RESUME) and each one, its RecordIntent 'done', publishes 'REMEDIATION FAILED
    ... Lambda will retry': one alert per attempt for one fact, none saying the last attempt gave up."""
    runtime = configure()
    inject(runtime.clients.sagemaker, "UpdateMonitoringSchedule", "ThrottlingException", times=50)
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    actions = [a["action"] for a in sandbox.alerts()]
    # Fixed: nothing was stopped, so no attempt alerts; the event ends in the dead-letter queue,
    # whose alarm speaks once (README, failure semantics), and a redrive or the sweep retries it.
    assert actions.count("failed") == 0, actions
    (dead_letter,) = sandbox.dead_letters()
    assert dead_letter["requestPayload"]["detail"]["requestParameters"]["monitoringScheduleName"] == "churn-drift"


def test_F16_a_definition_recreated_unencrypted_under_a_schedules_name_is_unseen_for_a_day(
    sandbox, configure, lambda_context
):
    """A schedule runs the encrypted definition churn-dq: judged 'nothing' (key: the schedule's
    LastModifiedTime). The team re-creates churn-dq (delete, create: the only way to change a
    definition) without the flag. No rule hears Create*JobDefinition, and the schedule's
    LastModifiedTime does not move, so the sweep's JobRef.version is the one already judged: the
    run-once record answers 'duplicate' and the schedule runs unencrypted executions for up to
    24 hours (IDEMPOTENCY_EXPIRY_SECONDS) -- 24 hourly runs -- before anything is done."""
    from ict_guard.runtime import sweeper_runtime

    sweeper_runtime.cache_clear()
    try:
        sandbox.create_data_quality_job_definition("churn-dq", encrypted=True, vpc=False)
        sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
        sandbox.deliver()
        sandbox.alerts()
        sandbox.sagemaker.delete_data_quality_job_definition(JobDefinitionName="churn-dq")
        sandbox.create_data_quality_job_definition("churn-dq", encrypted=False, vpc=False)
        sandbox.deliver()
        report = _sweep(sandbox, lambda_context, "sweep-after-recreate")
        used = _config(sandbox, "churn-dq-hourly")["MonitoringJobDefinitionName"]
        runs = sandbox.describe_kind(DATA_QUALITY, used)
        assert runs["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True, report
    finally:
        sweeper_runtime.cache_clear()
