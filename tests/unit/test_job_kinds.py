"""Processing and AutoML jobs through the same path as training jobs (issue 11), over the fakes:
one entry per kind in jobs.JOB_APIS, no per-kind branch in the guard."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.validate import ParamValidator

from ict_guard.clone import build_encrypted_copy
from ict_guard.events import parse_job_call
from ict_guard.fallbacks import is_own_copy
from ict_guard.jobs import API_BY_KIND, AUTOML_API, JOB_APIS, JOB_APIS_BY_EVENT, PROCESSING_API, Job, JobKind
from ict_guard.policy import Action, decide
from ict_guard.preflight import preflight
from ict_guard.remediation import JobRef
from ict_guard.settings import RemediationMode, Settings
from tests.unit.fakes import (
    ACCOUNT,
    MODEL,
    REGION,
    FakeSageMaker,
    automl_job,
    data_quality_job_definition,
    make_job_guard,
    monitoring_schedule,
    processing_job,
    training_job,
)
from tests.unit.test_events import cloudtrail_event

pytestmark = pytest.mark.unit

RELAUNCH = Settings(alert_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts", mode=RemediationMode.RELAUNCH)
VPC = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}


def ref(kind: JobKind, name: str) -> JobRef:
    return JobRef.for_job(kind, name, account=ACCOUNT, region=REGION, event_id="9d4f0a3e-0e1c-4b8e-9f0a-1d2c3b4a5f60")


def guard_with(*described: dict[str, Any], **settings: Any):
    sagemaker = FakeSageMaker()
    for item in described:
        sagemaker.add(item, {"team": "data"})
    return make_job_guard(sagemaker, **settings)


def test_every_kind_has_its_own_operations_and_every_create_event_maps_to_one_kind():
    assert set(API_BY_KIND) == set(JobKind)
    for api in API_BY_KIND.values():
        operations = (api.create_operation, api.describe_operation, api.list_operation)
        for operation in (*operations, *([api.stop_operation] if api.kind in JOB_APIS else [])):
            assert operation in MODEL.operation_names, operation
        create_input = MODEL.operation_model(api.create_operation).input_shape
        assert api.name_member in create_input.members
        if api.kind in JOB_APIS:
            assert MODEL.operation_model(api.describe_operation).output_shape.members.get(api.status_member)
    assert JOB_APIS_BY_EVENT["CreateAutoMLJob"] is AUTOML_API is JOB_APIS_BY_EVENT["CreateAutoMLJobV2"]
    assert JOB_APIS_BY_EVENT["CreateProcessingJob"] is PROCESSING_API


def test_a_processing_job_is_read_from_network_config_and_cluster_config():
    job = Job.from_describe(
        PROCESSING_API, processing_job("prep", instance_count=3, NetworkConfig={"VpcConfig": VPC}), {}
    )
    assert (job.kind, job.encrypted, job.instance_count) == (JobKind.PROCESSING, False, 3)
    assert job.security_group_sets == (("sg-1",),)
    assert job.role_arns and not job.instances_decided_by_service
    encrypted = processing_job("prep", NetworkConfig={"EnableInterContainerTrafficEncryption": True})
    assert Job.from_describe(PROCESSING_API, encrypted, {}).encrypted


def test_an_automl_job_is_judged_as_distributed_since_sagemaker_chooses_its_instances():
    job = Job.from_describe(AUTOML_API, automl_job("churn"), {})
    assert job.instances_decided_by_service and not job.encrypted
    decision = decide(job, RELAUNCH)
    assert decision.action is Action.RELAUNCH and "SageMaker decides its instance counts" in decision.reason
    # a single-instance floor of 1000 changes nothing: there is no count to compare
    many = Settings(alert_topic_arn=RELAUNCH.alert_topic_arn, mode=RemediationMode.RELAUNCH, min_instance_count=1000)
    assert decide(job, many).action is Action.RELAUNCH
    assert decide(Job.from_describe(AUTOML_API, automl_job("churn", encrypted=True), {}), RELAUNCH).action is (
        Action.NOTHING
    )


@pytest.mark.parametrize(
    ("member", "parent_arn", "action"),
    [
        ("AutoMLJobArn", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:automl-job/churn", Action.LEAVE_TO_PARENT),
        ("TrainingJobArn", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/resnet", Action.LEAVE_TO_PARENT),
        (
            "MonitoringScheduleArn",
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/drift",
            Action.LEAVE_TO_PARENT,
        ),
        # a parent the guard does not remediate: notified, never stopped or copied
        ("TrainingJobArn", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/labels", Action.NOTIFY),
    ],
)
def test_a_processing_job_launched_by_a_parent(member, parent_arn, action):
    job = Job.from_describe(PROCESSING_API, processing_job("child", **{member: parent_arn}), {})
    assert job.parent_arn == parent_arn
    decision = decide(job, RELAUNCH)
    assert decision.action is action
    assert parent_arn in decision.reason


def test_a_single_instance_processing_job_is_ignored():
    job = Job.from_describe(PROCESSING_API, processing_job("small", instance_count=1), {})
    assert decide(job, RELAUNCH).action is Action.NOTHING


def test_the_processing_copy_is_encrypted_and_valid_for_create_processing_job():
    described = processing_job("prep", NetworkConfig={"EnableNetworkIsolation": True, "VpcConfig": VPC})
    copy_ = build_encrypted_copy(PROCESSING_API, described, {"team": "data"}, MODEL)
    request = copy_.request
    assert request["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": VPC,
    }
    assert request["ProcessingJobName"].startswith("prep-enc-") and len(request["ProcessingJobName"]) <= 63
    assert "ProcessingJobStatus" not in request and "CreationTime" not in request
    ParamValidator().validate(request, MODEL.operation_model("CreateProcessingJob").input_shape)
    assert preflight(PROCESSING_API, request, MODEL) == []


def test_the_automl_copy_is_a_valid_v2_request_with_the_flag_and_a_32_character_name():
    described = automl_job("a-thirty-two-character-name-1234", encrypted=None)
    request = build_encrypted_copy(AUTOML_API, described, {}, MODEL).request
    assert request["SecurityConfig"] == {"EnableInterContainerTrafficEncryption": True}
    assert len(request["AutoMLJobName"]) <= 32 and request["AutoMLJobName"] != described["AutoMLJobName"]
    assert "AutoMLProblemTypeConfigName" not in request  # output-only: not a CreateAutoMLJobV2 member
    ParamValidator().validate(request, MODEL.operation_model("CreateAutoMLJobV2").input_shape)
    assert preflight(AUTOML_API, request, MODEL) == []


def test_preflight_names_the_kinds_own_name_rule():
    request = build_encrypted_copy(PROCESSING_API, processing_job("prep"), {}, MODEL).request
    request["ProcessingJobName"] = "p" * 64
    assert [r.rule for r in preflight(PROCESSING_API, request, MODEL)] == ["processing-job-name-max-63"]


def test_an_unencrypted_processing_job_is_recorded_stopped_then_copied_once():
    g = guard_with(processing_job("prep", NetworkConfig={"VpcConfig": VPC}))
    result = g.guard.remediate(ref(JobKind.PROCESSING, "prep"))
    assert result["outcome"] == "relaunch" and result["created"] is True
    mutating = [c for c in g.sagemaker.calls if c.startswith(("Stop", "Create", "AddTags"))]
    assert mutating[0] == "StopProcessingJob" and mutating.count("CreateProcessingJob") == 1
    assert g.ledger.calls[0] == "record"
    (created,) = g.sagemaker.created
    assert created["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert g.repairer.repaired == [("sg-1",)]
    (alert,) = g.alerts.published
    assert alert.relaunched_as == created["ProcessingJobName"]
    # delivered again: nothing more is stopped, created or alerted
    again = g.guard.remediate(ref(JobKind.PROCESSING, "prep"))
    assert again["outcome"] != "relaunch" and len(g.sagemaker.created) == 1 and len(g.alerts.published) == 1


def test_the_children_of_an_automl_job_are_remediated_through_it_once():
    parent = automl_job("churn")
    children = [
        training_job("churn-candidate-1", AutoMLJobArn=parent["AutoMLJobArn"]),
        processing_job("churn-dpp0", AutoMLJobArn=parent["AutoMLJobArn"]),
    ]
    g = guard_with(parent, *children)
    first = g.guard.remediate(ref(JobKind.TRAINING, "churn-candidate-1"))
    assert first["outcome"] == "leave-to-parent" and first["parent"]["outcome"] == "relaunch"
    g.guard.remediate(ref(JobKind.PROCESSING, "churn-dpp0"))
    g.guard.remediate(ref(JobKind.AUTOML, "churn"))
    assert g.sagemaker.calls.count("StopAutoMLJob") == 1
    assert [c["AutoMLJobName"] for c in g.sagemaker.created] == [first["parent"]["relaunched_as"]]
    assert "StopTrainingJob" not in g.sagemaker.calls and "StopProcessingJob" not in g.sagemaker.calls
    assert len(g.alerts.published) == 1


def test_create_events_of_the_new_kinds_name_the_job_and_read_the_flag_where_each_request_has_it():
    def event(name: str, request: dict[str, Any], arn_member: str, arn: str) -> dict[str, Any]:
        return cloudtrail_event(eventName=name, requestParameters=request, responseElements={arn_member: arn})

    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    processing = parse_job_call(
        event(
            "CreateProcessingJob",
            {"processingJobName": "Prep", "networkConfig": {"enableInterContainerTrafficEncryption": True}},
            "processingJobArn",
            f"{arn}:processing-job/prep",
        )
    )
    assert (processing.kind, processing.name, processing.requested_encryption) == (JobKind.PROCESSING, "Prep", True)
    v1 = parse_job_call(
        event(
            "CreateAutoMLJob",
            {
                "autoMLJobName": "churn",
                "autoMLJobConfig": {"securityConfig": {"enableInterContainerTrafficEncryption": False}},
            },
            "autoMLJobArn",
            f"{arn}:automl-job/churn",
        )
    )
    assert (v1.kind, v1.requested_encryption) == (JobKind.AUTOML, False)
    v2 = parse_job_call(
        event("CreateAutoMLJobV2", {"autoMLJobName": "churn2"}, "autoMLJobArn", f"{arn}:automl-job/churn2")
    )
    assert (v2.kind, v2.requested_encryption) == (JobKind.AUTOML, None)


def test_a_job_under_the_copys_name_is_the_guards_only_when_it_runs_the_same_image_and_role_encrypted():
    request = build_encrypted_copy(PROCESSING_API, processing_job("prep"), {}, MODEL).request
    existing = copy.deepcopy(request)
    assert is_own_copy(PROCESSING_API, existing, {}, request, "prep")
    existing["AppSpecification"] = {"ImageUri": "someone-else/image:1"}
    assert not is_own_copy(PROCESSING_API, existing, {}, request, "prep")
    unencrypted = copy.deepcopy(request)
    unencrypted["NetworkConfig"]["EnableInterContainerTrafficEncryption"] = False
    assert not is_own_copy(PROCESSING_API, unencrypted, {}, request, "prep")


# -- monitoring schedules: encrypted in place ------------------------------------------------------


def test_an_inline_schedule_is_updated_in_place_and_its_running_execution_stopped():
    g = guard_with(
        monitoring_schedule("drift", execution="drift-exec-1"),
        processing_job(
            "drift-exec-1", MonitoringScheduleArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/drift"
        ),
        missing=(),
    )
    result = g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert result["outcome"] == "relaunch"
    mutating = [c for c in g.sagemaker.calls if c.startswith(("Stop", "Create", "Update", "AddTags"))]
    assert mutating == ["AddTags", "UpdateMonitoringSchedule", "StopProcessingJob", "AddTags"]  # pending, ..., done
    (update,) = g.sagemaker.created
    assert set(update) == {"MonitoringScheduleName", "MonitoringScheduleConfig"}  # no tags, its own name
    assert update["MonitoringScheduleName"] == "drift"
    network = update["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["NetworkConfig"]
    assert network["EnableInterContainerTrafficEncryption"] is True and network["VpcConfig"]["SecurityGroupIds"]
    ParamValidator().validate(update, MODEL.operation_model("UpdateMonitoringSchedule").input_shape)
    assert g.repairer.repaired == [("sg-mon",)]
    (alert,) = g.alerts.published
    assert alert.action.value == "encrypted_in_place" and alert.relaunched_as is None
    assert g.sagemaker.tags[alert.arn]["ict-guard:remediation"] == "encrypted-in-place"
    # delivered again: encrypted now, nothing more to do and nothing more said
    g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert len(g.sagemaker.created) == 1 and len(g.alerts.published) == 1


def test_a_schedule_running_a_job_definition_gets_an_encrypted_copy_of_it_and_the_old_one_is_tagged():
    schedule_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/dq"
    old = data_quality_job_definition("dq-definition")
    g = guard_with(monitoring_schedule("dq", definition="dq-definition"), old)
    result = g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "dq"))
    assert result["outcome"] == "relaunch", result
    creates = [c for c in g.sagemaker.calls if c.startswith(("Create", "Update"))]
    assert creates == ["CreateDataQualityJobDefinition", "UpdateMonitoringSchedule"]
    definition, update = g.sagemaker.created
    assert definition["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert definition["JobDefinitionName"].startswith("dq-definition-enc-")
    assert {"Key": "ict-guard:relaunched-from", "Value": "dq-definition"} in definition["Tags"]
    ParamValidator().validate(definition, MODEL.operation_model("CreateDataQualityJobDefinition").input_shape)
    assert update["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == definition["JobDefinitionName"]
    assert update["MonitoringScheduleConfig"]["MonitoringType"] == "DataQuality"
    assert g.sagemaker.tags[old["JobDefinitionArn"]]["ict-guard:remediation"] == "replaced"  # never deleted
    (alert,) = g.alerts.published
    assert alert.relaunched_as == definition["JobDefinitionName"] and alert.arn == schedule_arn
    # the schedule now runs the encrypted copy: judged encrypted, nothing more
    again = g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "dq"))
    assert again["outcome"] in {"nothing", "repair-security-groups"} and len(g.sagemaker.created) == 2


def test_a_schedule_in_stop_mode_is_stopped_with_its_running_execution():
    g = guard_with(
        monitoring_schedule("drift", execution="drift-exec-1"),
        processing_job(
            "drift-exec-1", MonitoringScheduleArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/drift"
        ),
        mode=RemediationMode.STOP,
    )
    result = g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert result["outcome"] == "stop"
    assert [c for c in g.sagemaker.calls if c.startswith("Stop")] == ["StopMonitoringSchedule", "StopProcessingJob"]
    assert g.sagemaker.jobs["drift"]["MonitoringScheduleStatus"] == "Stopped" and not g.sagemaker.created


def test_a_monitoring_execution_is_remediated_through_its_schedule_once():
    schedule_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/drift"
    g = guard_with(
        monitoring_schedule("drift", execution="drift-exec-1"),
        processing_job("drift-exec-1", MonitoringScheduleArn=schedule_arn),
    )
    child = g.guard.remediate(ref(JobKind.PROCESSING, "drift-exec-1"))
    assert child["outcome"] == "leave-to-parent" and child["parent"]["outcome"] == "relaunch"
    g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert g.sagemaker.calls.count("UpdateMonitoringSchedule") == 1
    assert g.sagemaker.calls.count("StopProcessingJob") == 1 and len(g.alerts.published) == 1


def test_a_schedule_whose_alert_was_lost_after_the_update_is_alerted_once_on_the_next_delivery():
    g = guard_with(monitoring_schedule("drift"))
    g.alerts.failures = [RuntimeError("SNS timed out")]
    with pytest.raises(RuntimeError):
        g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert g.sagemaker.calls.count("UpdateMonitoringSchedule") == 1
    result = g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))
    assert result["outcome"] == "resume"
    assert g.sagemaker.calls.count("UpdateMonitoringSchedule") == 1  # not updated twice
    assert [a.action.value for a in g.alerts.published].count("encrypted_in_place") == 1


def test_a_schedule_in_notify_mode_is_only_alerted_on():
    g = guard_with(monitoring_schedule("drift", execution="drift-exec-1"), mode=RemediationMode.NOTIFY)
    assert g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"))["outcome"] == "notify"
    assert not [c for c in g.sagemaker.calls if c.startswith(("Stop", "Create", "Update"))]


def test_a_schedule_create_event_reads_the_inline_definitions_flag():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/drift"
    request = {
        "monitoringScheduleName": "drift",
        "monitoringScheduleConfig": {
            "monitoringJobDefinition": {"networkConfig": {"enableInterContainerTrafficEncryption": True}}
        },
    }
    for name in ("CreateMonitoringSchedule", "UpdateMonitoringSchedule"):
        event = cloudtrail_event(
            eventName=name, requestParameters=request, responseElements={"monitoringScheduleArn": arn}
        )
        call = parse_job_call(event)
        assert (call.kind, call.name, call.requested_encryption) == (JobKind.MONITORING_SCHEDULE, "drift", True)


def test_a_schedule_is_judged_once_per_configuration_its_last_modified_time():
    g = guard_with(monitoring_schedule("drift"))
    seen: list[dict[str, Any]] = []
    g.guard.run_once = lambda payload, **kwargs: seen.append(payload) or {}  # type: ignore[method-assign]
    g.guard.remediate(ref(JobKind.MONITORING_SCHEDULE, "drift"), send_reads=True)
    g.guard.remediate(ref(JobKind.PROCESSING, "prep"), send_reads=True)  # a job: no version
    # when it last changed, and a digest of what it is (a stop and start changes no configuration)
    changed, _, configuration = seen[0]["version"].partition("#")
    assert changed == "2026-11-30T06:00:00Z" and len(configuration) == 16 and seen[1]["version"] is None
    # An event's schedule: one read for its version, before the lock, and none sent with the
    # lock; an event's job: its decision's reads sent with the lock (overlapping it, so in either
    # order).
    assert g.sagemaker.calls[0] == "DescribeMonitoringSchedule"
    assert sorted(g.sagemaker.calls[1:]) == ["DescribeProcessingJob", "ListTags"]
    assert seen[0]["key"] == "monitoring-schedule/drift"  # the ledger's key has no version
    # Asked by a sweep, a parent or a resume (send_reads off), a job costs only its record read.
    g.sagemaker.calls.clear()
    g.guard.remediate(ref(JobKind.PROCESSING, "prep"))
    assert g.sagemaker.calls == []


def test_an_automl_job_on_emr_serverless_is_unrelaunchable_before_anything_is_stopped():
    emr = {"EmrServerlessComputeConfig": {"ExecutionRoleARN": f"arn:aws:iam::{ACCOUNT}:role/EmrServerlessRole"}}
    g = guard_with(automl_job("churn", AutoMLComputeConfig=emr))
    result = g.guard.remediate(ref(JobKind.AUTOML, "churn"))
    assert result["outcome"] == "notify" and result["unrelaunchable"] == ["emr-serverless-role"]
    assert "StopAutoMLJob" not in g.sagemaker.calls and not g.sagemaker.created
    (alert,) = g.alerts.published
    assert alert.action_needed and "EMR Serverless" in alert.reason
