"""Monitoring schedules end to end on the embedded AWS (issue 11): CreateMonitoringSchedule or
UpdateMonitoringSchedule -> CloudTrail-shaped event -> the template's rules -> the real handler.
A schedule is encrypted in place; one that runs a job definition is pointed at an encrypted copy
of it; the execution running now is stopped; a child execution is handled through its schedule."""

from __future__ import annotations

import pytest

from ict_guard.clone import relaunch_name
from sandbox import monitoring_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
SCHEDULE, PROCESSING, DATA_QUALITY = "monitoring-schedule", "processing-job", "data-quality-job-definition"


def inline_network(described):
    return described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["NetworkConfig"]


def ipsec_ingress(group):
    return sorted(
        (p["IpProtocol"], p.get("FromPort"))
        for p in group["IpPermissions"]
        if any(pair["GroupId"] == group["GroupId"] for pair in p.get("UserIdGroupPairs", []))
    )


def test_an_inline_schedule_is_encrypted_in_place_and_its_running_execution_stopped(sandbox):
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    sandbox.deliver()

    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True
    assert inline_network(described)["VpcConfig"]["SecurityGroupIds"] == [sandbox.env.bare_group_id]
    assert described["MonitoringScheduleStatus"] in ("Pending", "Scheduled")  # still monitoring
    assert sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] in ("Stopping", "Stopped")
    assert sandbox.tags_of(SCHEDULE, "churn-drift")["ict-guard:remediation"] == "encrypted-in-place"
    assert ipsec_ingress(sandbox.group(sandbox.env.bare_group_id)) == [("50", -1), ("udp", 500)]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "encrypted_in_place" and alert["resource"]["type"] == SCHEDULE
    assert alert["relaunched_as"] is None and alert["severity"] == "HIGH"

    # The next execution runs encrypted.
    following = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    network = sandbox.describe_kind(PROCESSING, following)["NetworkConfig"]
    assert network["EnableInterContainerTrafficEncryption"] is True


def test_a_schedule_running_a_job_definition_is_pointed_at_an_encrypted_copy_of_it(sandbox):
    sandbox.create_data_quality_job_definition("churn-dq")
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.deliver()

    created = sandbox.describe_kind(DATA_QUALITY, "churn-dq")["CreationTime"]
    copy_name = relaunch_name("churn-dq", salt=str(created))  # a definition created again gets another copy
    described = sandbox.describe_kind(SCHEDULE, "churn-dq-hourly")
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == copy_name
    copy = sandbox.describe_kind(DATA_QUALITY, copy_name)
    original = sandbox.describe_kind(DATA_QUALITY, "churn-dq")
    assert copy["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    for member in (
        "DataQualityAppSpecification",
        "DataQualityJobInput",
        "DataQualityJobOutputConfig",
        "JobResources",
        "RoleArn",
        "StoppingCondition",
    ):
        assert copy[member] == original[member], member
    assert sandbox.tags_of(DATA_QUALITY, copy_name)["ict-guard:relaunched-from"] == "churn-dq"
    assert sandbox.tags_of(DATA_QUALITY, "churn-dq")["ict-guard:remediation"] == "replaced"  # kept, tagged
    (alert,) = sandbox.alerts()
    assert alert["action"] == "encrypted_in_place" and alert["relaunched_as"] == copy_name

    # The guard's own update is an UpdateMonitoringSchedule event too: encrypted now, no alert.
    sandbox.deliver()
    assert sandbox.alerts() == []


def test_an_encrypted_schedule_in_a_vpc_gets_its_groups_repaired_and_is_not_changed(sandbox):
    sandbox.create_monitoring_schedule("churn-drift", encrypted=True)
    sandbox.deliver()
    assert "ict-guard:remediation" not in sandbox.tags_of(SCHEDULE, "churn-drift")
    (alert,) = sandbox.alerts()
    assert alert["action"] == "security_groups_repaired"


def test_a_single_instance_schedule_is_ignored(sandbox):
    sandbox.create_monitoring_schedule("small-drift", instance_count=1)
    sandbox.deliver()
    assert (
        inline_network(sandbox.describe_kind(SCHEDULE, "small-drift"))["EnableInterContainerTrafficEncryption"] is False
    )
    assert sandbox.alerts() == []


def test_a_monitoring_execution_is_remediated_through_its_schedule_once(sandbox):
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef
    from ict_guard.runtime import job_guard_runtime

    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    # The execution is found first (a sweep, or its own event): its schedule is remediated.
    guard = job_guard_runtime().guard
    child = guard.remediate(
        JobRef.for_job(JobKind.PROCESSING, execution, account=ACCOUNT, region=REGION, event_id="e-1")
    )
    assert child["outcome"] == "leave-to-parent" and child["parent"]["outcome"] == "relaunch"
    assert sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] in ("Stopping", "Stopped")
    # The schedule's own event comes after: it is encrypted now, nothing more is done or said.
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["encrypted_in_place"]
    assert relaunch_name(execution) not in [
        s["ProcessingJobName"] for s in sandbox.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    ]


def test_a_schedule_turned_unencrypted_again_after_the_fix_is_fixed_again(sandbox):
    sandbox.create_monitoring_schedule("churn-drift")
    sandbox.deliver()
    config = sandbox.describe_kind(SCHEDULE, "churn-drift")["MonitoringScheduleConfig"]
    inline_network({"MonitoringScheduleConfig": config})["EnableInterContainerTrafficEncryption"] = False
    sandbox.sagemaker.update_monitoring_schedule(MonitoringScheduleName="churn-drift", MonitoringScheduleConfig=config)
    sandbox.deliver()
    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True
    assert [a["action"] for a in sandbox.alerts()] == ["encrypted_in_place", "encrypted_in_place"]


def test_stop_mode_stops_the_schedule_and_its_execution(sandbox, configure):
    configure(REMEDIATION_MODE="stop")
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    sandbox.deliver()
    described = sandbox.describe_kind(SCHEDULE, "churn-drift")
    assert described["MonitoringScheduleStatus"] == "Stopped"
    assert inline_network(described)["EnableInterContainerTrafficEncryption"] is False  # not changed
    assert sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] in ("Stopping", "Stopped")
    assert [a["action"] for a in sandbox.alerts()] == ["stopped"]


def test_notify_mode_changes_nothing(sandbox, configure):
    configure(REMEDIATION_MODE="notify")
    sandbox.create_monitoring_schedule("churn-drift")
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, "churn-drift")
    sandbox.deliver()
    assert (
        inline_network(sandbox.describe_kind(SCHEDULE, "churn-drift"))["EnableInterContainerTrafficEncryption"] is False
    )
    assert sandbox.describe_kind(PROCESSING, execution)["ProcessingJobStatus"] == "InProgress"
    assert [a["action"] for a in sandbox.alerts()] == ["notified"]


def test_the_sweep_fixes_a_schedule_whose_event_was_lost_once_whatever_its_age(sandbox, lambda_context):
    import datetime as dt

    from moto.sagemaker.models import sagemaker_backends

    from functions.sweeper.app import lambda_handler as sweeper_handler
    from ict_guard.runtime import sweeper_runtime
    from tests.integration.test_sweeper import SCHEDULED, lose_events

    sweeper_runtime.cache_clear()
    try:
        sandbox.create_monitoring_schedule("churn-drift")
        # created 90 days ago, far outside the sweep's look-back window (default 24 hours)
        store = monitoring_extension._store(sagemaker_backends[ACCOUNT][REGION])
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
        for schedule in store.schedules.values():
            schedule.creation_time = schedule.last_modified_time = old
        lose_events(sandbox)
        report = sweeper_handler(SCHEDULED, lambda_context)
        assert report["caught"] == ["monitoring-schedule/churn-drift"]
        described = sandbox.describe_kind(SCHEDULE, "churn-drift")
        assert inline_network(described)["EnableInterContainerTrafficEncryption"] is True
        lose_events(sandbox)  # the guard's own UpdateMonitoringSchedule event
        again = sweeper_handler({**SCHEDULED, "id": "sched-2"}, lambda_context)
        assert again["caught"] == [] and again["listed"]["monitoring-schedule"] == 1
        assert [a["action"] for a in sandbox.alerts()] == ["encrypted_in_place"]
    finally:
        sweeper_runtime.cache_clear()


def test_a_definition_created_again_unencrypted_has_the_schedules_that_run_it_judged_at_once(sandbox):
    sandbox.create_data_quality_job_definition("churn-dq", encrypted=True, vpc=False)
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    sandbox.create_monitoring_schedule("churn-drift")  # runs nothing of churn-dq: left alone here
    sandbox.deliver()
    sandbox.alerts()
    # The only way to change a definition: delete it and create it again under its name.
    sandbox.sagemaker.delete_data_quality_job_definition(JobDefinitionName="churn-dq")
    sandbox.create_data_quality_job_definition("churn-dq", encrypted=False, vpc=False)
    invocations = sandbox.deliver()  # the definition's own Create event, then the guard's own calls
    assert invocations[0].event["detail"]["eventName"] == "CreateDataQualityJobDefinition"
    created = sandbox.describe_kind(DATA_QUALITY, "churn-dq")["CreationTime"]
    runs = sandbox.describe_kind(SCHEDULE, "churn-dq-hourly")["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    assert runs == relaunch_name("churn-dq", salt=str(created))
    assert sandbox.describe_kind(DATA_QUALITY, runs)["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert [(a["action"], a["resource"]["name"]) for a in sandbox.alerts()] == [
        ("encrypted_in_place", "churn-dq-hourly")
    ]


def test_a_definition_no_schedule_runs_yet_is_not_alerted_on(sandbox):
    sandbox.create_data_quality_job_definition("churn-dq")
    invocations = sandbox.deliver()
    assert [i.result["outcome"] for i in invocations] == ["nothing"]
    assert sandbox.alerts() == []
