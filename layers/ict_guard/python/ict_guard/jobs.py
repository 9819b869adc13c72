"""The kinds of job the guard remediates, and what it knows about one job: read from Describe*
and ListTags, nothing else."""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

REMEDIATION_TAG = "ict-guard:remediation"
RELAUNCHED_FROM_TAG = "ict-guard:relaunched-from"
MANAGED_TAG = "ict-guard:managed"
GUARD_TAG_PREFIX = "ict-guard:"
RESERVED_TAG_PREFIX = "aws:"  # Create* rejects tag keys with this prefix
CLONE_MARK = "-enc-"
CLONE_NAME = re.compile(rf"{CLONE_MARK}[0-9a-f]{{6}}$")
# Create* and AddTags refuse more than 50 user tags on one resource; keys with the reserved `aws:`
# prefix do not count and may not be sent (SageMaker API reference: AddTags, "Each resource can
# have a maximum of 50 tags"; Tag: "You can't use aws: as a prefix").
MAX_USER_TAGS = 50
# SageMaker Pipelines tags every job a step starts with the execution and the step; a copy made
# outside the pipeline would leave the step failed and the copy orphaned (developer guide,
# "Pipelines" tagging; the tags appear on the job's ListTags).
PIPELINE_EXECUTION_TAG = "sagemaker:pipeline-execution-arn"
PIPELINE_STEP_TAG = "sagemaker:pipeline-step-name"


class JobKind(enum.StrEnum):
    """The resource type, as SageMaker writes it in ARNs."""

    TRAINING = "training-job"
    TUNING = "hyper-parameter-tuning-job"
    PROCESSING = "processing-job"
    AUTOML = "automl-job"  # CreateAutoMLJob (V1) and CreateAutoMLJobV2 make the same resource
    MONITORING_SCHEDULE = "monitoring-schedule"
    # The job definitions a monitoring schedule may run (by MonitoringJobDefinitionName): not
    # remediated on their own (they run nothing), copied encrypted for a schedule that uses one.
    DATA_QUALITY_JOB_DEFINITION = "data-quality-job-definition"
    MODEL_BIAS_JOB_DEFINITION = "model-bias-job-definition"
    MODEL_EXPLAINABILITY_JOB_DEFINITION = "model-explainability-job-definition"
    MODEL_QUALITY_JOB_DEFINITION = "model-quality-job-definition"


Spec = Mapping[str, Any]


@dataclass(frozen=True)
class JobApi:
    """Everything kind-specific the guard knows of one kind of SageMaker job: its API, where a
    request or a description carries the flag, the VPC and the instance count, and its parents.

    The rest of the guard reads these fields and holds no per-kind branches: a SageMaker API that
    takes the flag tomorrow is one more entry in JOB_APIS (and its tests). A *spec* is the part
    of a request or description that configures one set of instances: the job itself for a
    training, processing or AutoML job, each training definition of a tuning job.
    """

    kind: JobKind
    label: str  # in alerts and reasons: "training job"
    create_operation: str  # what the guard's encrypted copy is created with
    describe_operation: str
    stop_operation: str
    list_operation: str  # lists jobs by StatusEquals and CreationTimeAfter (the sweep, scan)
    summaries_member: str
    name_member: str
    arn_member: str
    status_member: str
    name_max_length: int  # from the botocore model: TrainingJobName 63, tuning and AutoML job names 32
    name_rule: str  # the id of the name-length rule in sandbox/service_rules.py
    flag_path: tuple[str, ...]  # in each spec: EnableInterContainerTrafficEncryption
    vpc_path: tuple[str, ...]  # in each spec: VpcConfig (SecurityGroupIds, Subnets)
    # Where the specs are (each path holds one spec or a list of them; the first present wins);
    # ((),): the job is its own one spec.
    spec_paths: tuple[tuple[str, ...], ...] = ((),)
    # Instances of one spec's job; None when SageMaker decides them (AutoML): policy.decide.
    instances: Callable[[Spec], int | None] = field(default=lambda spec: 0, compare=False)
    parent_members: tuple[str, ...] = ()  # Describe members naming the job that launched this one
    # Create events the guard handles for this kind, with where *that* request carries the flag
    # when it differs from flag_path (CreateAutoMLJob nests it under AutoMLJobConfig).
    create_events: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    # Statuses in which the resource runs or will run work (the sweep lists these), and the ones
    # in which a stopped original may still be owed its copy (the sweep lists those too).
    active_statuses: tuple[str, ...] = ("InProgress",)
    stopped_statuses: tuple[str, ...] = ("Stopping", "Stopped")
    # True when the encrypted version is the same resource, updated (create_operation is then
    # its Update*): a monitoring schedule.
    in_place: bool = False
    # Where a description names a job definition it runs (name, type): a schedule's
    # MonitoringJobDefinitionName and MonitoringType. The guard reads it into RESOLVED_DEFINITION.
    definition_reference: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    # The name of a child job running now, that the remediation stops with its parent: a
    # schedule's monitoring execution (a processing job).
    running_child: Callable[[Spec], str | None] = field(default=lambda described: None, compare=False)

    @cached_property
    def name_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{self.name_max_length - 1}}}$")

    @property
    def short_name(self) -> str:
        """The CLI's name of the kind (--kind): training, tuning, processing, automl."""
        return self.label.split()[0].lower()

    @property
    def event_name_parameter(self) -> str:
        """CloudTrail writes requestParameters and responseElements in lower camel case."""
        return lower_camel(self.name_member)

    @property
    def event_arn_element(self) -> str:
        return lower_camel(self.arn_member)

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.create_events) or (self.create_operation,)

    def event_flag_path(self, event_name: str) -> tuple[str, ...]:
        return dict(self.create_events).get(event_name) or self.flag_path

    @property
    def has_definitions(self) -> bool:
        """Whether the specs are named definitions inside the job (a tuning job's)."""
        return self.spec_paths != ((),)

    def specs(self, spec: Spec) -> list[Spec]:
        """The specs of a request or description (the same member names)."""
        for path in self.spec_paths:  # the first present: one definition, or a list of them
            value = get_path(spec, path) if path else spec
            if isinstance(value, Mapping):
                return [value]
            if isinstance(value, list) and value:
                return [d for d in value if isinstance(d, Mapping)]
        return []

    def is_active(self, status: str) -> bool:
        return status in self.active_statuses

    def encrypted(self, spec: Spec, flag_path: tuple[str, ...] | None = None) -> bool | None:
        """The flag of one spec: True, False, or None when the spec does not say."""
        value = get_path(spec, flag_path or self.flag_path)
        return value if isinstance(value, bool) else None

    def parent_arn(self, described: Spec) -> str | None:
        return next((str(described[m]) for m in self.parent_members if described.get(m)), None)


def configuration_digest(configuration: Any) -> str:
    """A short digest of a resource's configuration (a schedule's MonitoringScheduleConfig), the
    same for equal configurations whatever the key order."""
    text = json.dumps(configuration, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def contains(outer: Any, inner: Any) -> bool:
    """Whether `outer` holds everything `inner` does (members SageMaker adds, such as defaults,
    aside): a schedule's configuration against the update the guard sent."""
    if isinstance(inner, Mapping):
        return isinstance(outer, Mapping) and all(k in outer and contains(outer[k], v) for k, v in inner.items())
    if isinstance(inner, list):
        return isinstance(outer, list) and len(outer) == len(inner) and all(map(contains, outer, inner))
    return outer == inner


def get_path(value: Any, path: Sequence[str]) -> Any:
    """The member at `path` (member names, outermost first), or None."""
    for member in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(member)
    return value


def set_path(spec: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set the member at `path`, creating the structures on the way."""
    for member in path[:-1]:
        inner = spec.get(member)
        spec[member] = inner = dict(inner) if isinstance(inner, Mapping) else {}
        spec = inner
    spec[path[-1]] = value


def lower_camel(name: str) -> str:
    """An API member name as CloudTrail writes it in requestParameters and responseElements."""
    return name[0].lower() + name[1:]


def _training_instances(spec: Spec) -> int:
    return instance_count(spec.get("ResourceConfig"))


def _processing_instances(spec: Spec) -> int:
    # ProcessingResources.ClusterConfig.InstanceCount (API reference, ProcessingClusterConfig)
    return int(get_path(spec, ("ProcessingResources", "ClusterConfig", "InstanceCount")) or 0)


def _decided_by_sagemaker(spec: Spec) -> None:
    """An AutoML job chooses the instances of the training and processing jobs it launches;
    neither its request nor its description says how many (API reference, CreateAutoMLJobV2)."""
    return None


_FLAG = ("EnableInterContainerTrafficEncryption",)
TRAINING_API = JobApi(
    kind=JobKind.TRAINING,
    label="training job",
    create_operation="CreateTrainingJob",
    describe_operation="DescribeTrainingJob",
    stop_operation="StopTrainingJob",
    list_operation="ListTrainingJobs",
    summaries_member="TrainingJobSummaries",
    name_member="TrainingJobName",
    arn_member="TrainingJobArn",
    status_member="TrainingJobStatus",
    name_max_length=63,
    name_rule="training-job-name-max-63",
    flag_path=_FLAG,
    vpc_path=("VpcConfig",),
    instances=_training_instances,
    parent_members=("TuningJobArn", "AutoMLJobArn"),
)
TUNING_API = JobApi(
    kind=JobKind.TUNING,
    label="tuning job",
    create_operation="CreateHyperParameterTuningJob",
    describe_operation="DescribeHyperParameterTuningJob",
    stop_operation="StopHyperParameterTuningJob",
    list_operation="ListHyperParameterTuningJobs",
    summaries_member="HyperParameterTuningJobSummaries",
    name_member="HyperParameterTuningJobName",
    arn_member="HyperParameterTuningJobArn",
    status_member="HyperParameterTuningJobStatus",
    name_max_length=32,
    name_rule="tuning-job-name-max-32",
    flag_path=_FLAG,
    vpc_path=("VpcConfig",),
    spec_paths=(("TrainingJobDefinition",), ("TrainingJobDefinitions",)),
    instances=lambda definition: definition_instance_count(definition),
)
PROCESSING_API = JobApi(
    kind=JobKind.PROCESSING,
    label="processing job",
    create_operation="CreateProcessingJob",
    describe_operation="DescribeProcessingJob",
    stop_operation="StopProcessingJob",
    list_operation="ListProcessingJobs",
    summaries_member="ProcessingJobSummaries",
    name_member="ProcessingJobName",
    arn_member="ProcessingJobArn",
    status_member="ProcessingJobStatus",
    name_max_length=63,
    name_rule="processing-job-name-max-63",
    flag_path=("NetworkConfig", *_FLAG),
    vpc_path=("NetworkConfig", "VpcConfig"),
    instances=_processing_instances,
    # A processing job run by a monitoring schedule, an AutoML job or a training job (API
    # reference, DescribeProcessingJob): remediated through that parent.
    parent_members=("MonitoringScheduleArn", "AutoMLJobArn", "TrainingJobArn"),
)
AUTOML_API = JobApi(
    kind=JobKind.AUTOML,
    label="AutoML job",
    # DescribeAutoMLJobV2 "returns information about an AutoML job created by calling
    # CreateAutoMLJobV2 or CreateAutoMLJob" (API reference), while DescribeAutoMLJob cannot describe
    # V2 jobs; the guard reads every AutoML job through V2 and makes its copy with V2, whose
    # request is what V2's Describe returns.
    create_operation="CreateAutoMLJobV2",
    describe_operation="DescribeAutoMLJobV2",
    stop_operation="StopAutoMLJob",
    list_operation="ListAutoMLJobs",
    summaries_member="AutoMLJobSummaries",
    name_member="AutoMLJobName",
    arn_member="AutoMLJobArn",
    status_member="AutoMLJobStatus",
    name_max_length=32,
    name_rule="automl-job-name-max-32",
    flag_path=("SecurityConfig", *_FLAG),
    vpc_path=("SecurityConfig", "VpcConfig"),
    instances=_decided_by_sagemaker,
    create_events=(
        ("CreateAutoMLJob", ("AutoMLJobConfig", "SecurityConfig", *_FLAG)),
        ("CreateAutoMLJobV2", None),
    ),
)

# A schedule runs either an inline MonitoringJobDefinition or a job definition by name; the guard
# reads the named one (DescribeDataQualityJobDefinition, ...) into the description under this key,
# a member no SageMaker shape has, so the copy and the update never carry it.
RESOLVED_DEFINITION = "ict-guard:ResolvedJobDefinition"
RESOLVED_TAGS = "ict-guard:Tags"  # inside the resolved definition: its ListTags, for its copy
# What an update in place replaces, and what the guard judges a schedule by.
CONFIGURATION_MEMBER = "MonitoringScheduleConfig"
_SCHEDULE_DEFINITION = ("MonitoringScheduleConfig", "MonitoringJobDefinition")


def _monitoring_instances(spec: Spec) -> int:
    # MonitoringResources.ClusterConfig (inline) or JobResources.ClusterConfig (a job definition)
    resources = spec.get("MonitoringResources") or spec.get("JobResources") or {}
    return int(get_path(resources, ("ClusterConfig", "InstanceCount")) or 0)


def _running_execution(described: Spec) -> str | None:
    """The processing job of the schedule's execution, while it runs (LastMonitoringExecutionSummary,
    API reference DescribeMonitoringSchedule)."""
    summary = described.get("LastMonitoringExecutionSummary") or {}
    arn = summary.get("ProcessingJobArn")
    if summary.get("MonitoringExecutionStatus") in ("Pending", "InProgress") and isinstance(arn, str):
        return arn.rsplit("/", 1)[-1]
    return None


MONITORING_SCHEDULE_API = JobApi(
    kind=JobKind.MONITORING_SCHEDULE,
    label="monitoring schedule",
    # Nothing to stop and copy: the schedule is updated in place (UpdateMonitoringSchedule), its
    # next executions encrypted; the one running now is stopped with it (running_child).
    create_operation="UpdateMonitoringSchedule",
    describe_operation="DescribeMonitoringSchedule",
    stop_operation="StopMonitoringSchedule",
    list_operation="ListMonitoringSchedules",
    summaries_member="MonitoringScheduleSummaries",
    name_member="MonitoringScheduleName",
    arn_member="MonitoringScheduleArn",
    status_member="MonitoringScheduleStatus",
    name_max_length=63,
    name_rule="monitoring-schedule-name-max-63",
    flag_path=("NetworkConfig", *_FLAG),
    vpc_path=("NetworkConfig", "VpcConfig"),
    spec_paths=(_SCHEDULE_DEFINITION, (RESOLVED_DEFINITION,)),
    instances=_monitoring_instances,
    create_events=(("CreateMonitoringSchedule", None), ("UpdateMonitoringSchedule", None)),
    # ScheduleStatus: Pending | Failed | Scheduled | Stopped (API reference)
    active_statuses=("Pending", "Scheduled"),
    stopped_statuses=(),
    in_place=True,
    definition_reference=(
        ("MonitoringScheduleConfig", "MonitoringJobDefinitionName"),
        ("MonitoringScheduleConfig", "MonitoringType"),
    ),
    running_child=_running_execution,
)


def _definition_api(kind: JobKind, prefix: str, monitoring_type: str) -> JobApi:
    """The API of one kind of monitoring job definition (Create/Describe/Delete only: immutable)."""
    return JobApi(
        kind=kind,
        label=f"{monitoring_type} job definition",
        create_operation=f"Create{prefix}JobDefinition",
        describe_operation=f"Describe{prefix}JobDefinition",
        stop_operation="",
        list_operation=f"List{prefix}JobDefinitions",
        summaries_member="JobDefinitionSummaries",
        name_member="JobDefinitionName",
        arn_member="JobDefinitionArn",
        status_member="",
        name_max_length=63,
        name_rule="monitoring-job-definition-name-max-63",
        flag_path=("NetworkConfig", *_FLAG),
        vpc_path=("NetworkConfig", "VpcConfig"),
        instances=_monitoring_instances,
    )


# MonitoringType -> the definition API (API reference, MonitoringScheduleConfig.MonitoringType)
DEFINITION_APIS: dict[str, JobApi] = {
    "DataQuality": _definition_api(JobKind.DATA_QUALITY_JOB_DEFINITION, "DataQuality", "DataQuality"),
    "ModelQuality": _definition_api(JobKind.MODEL_QUALITY_JOB_DEFINITION, "ModelQuality", "ModelQuality"),
    "ModelBias": _definition_api(JobKind.MODEL_BIAS_JOB_DEFINITION, "ModelBias", "ModelBias"),
    "ModelExplainability": _definition_api(
        JobKind.MODEL_EXPLAINABILITY_JOB_DEFINITION, "ModelExplainability", "ModelExplainability"
    ),
}

# In the order the sweep takes them: parents before the jobs they launch.
JOB_APIS: dict[JobKind, JobApi] = {
    api.kind: api for api in (MONITORING_SCHEDULE_API, AUTOML_API, TUNING_API, TRAINING_API, PROCESSING_API)
}


class RemediationTag(enum.StrEnum):
    """Values of REMEDIATION_TAG on an original job: what the guard did to it."""

    RELAUNCH_PENDING = "relaunch-pending"  # stopped by the guard; its re-launch is still owed
    RELAUNCHED = "relaunched"
    STOPPED = "stopped"
    # stopped by the guard; SageMaker refused its copy (and every fallback): a person re-launches
    RELAUNCH_REFUSED = "relaunch-refused"
    ENCRYPTED_IN_PLACE = "encrypted-in-place"  # a monitoring schedule the guard updated
    REPLACED = "replaced"  # a job definition a schedule ran, replaced by its encrypted copy


IN_PROGRESS = "InProgress"


def tags_to_dict(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags if "Key" in t}


def user_tag_count(tags: Mapping[str, str]) -> int:
    """Tags that count against the 50-tag limit: every key but the reserved `aws:` ones."""
    return sum(1 for key in tags if not key.startswith(RESERVED_TAG_PREFIX))


def has_room_for_tag(tags: Mapping[str, str], key: str) -> bool:
    """Whether AddTags of `key` keeps the resource within the limit (a key it already has is
    overwritten, not added)."""
    return key in tags or user_tag_count(tags) < MAX_USER_TAGS


def instance_count(resource_config: Mapping[str, Any] | None) -> int:
    """Instances of a job, as many as it may run on.

    InstanceCount, or the sum over InstanceGroups (heterogeneous cluster). A job that lets
    SageMaker choose from InstancePreferences runs one preference with its own InstanceCount;
    once chosen, Describe reports SelectedInstanceCount. The largest of these counts is what the
    job gets or may get (API reference, ResourceConfig).
    """
    if not resource_config:
        return 0
    groups = resource_config.get("InstanceGroups") or []
    if groups:
        return sum(int(g.get("InstanceCount") or 0) for g in groups)
    counts = [int(resource_config.get("InstanceCount") or 0), int(resource_config.get("SelectedInstanceCount") or 0)]
    counts += [int(p.get("InstanceCount") or 0) for p in resource_config.get("InstancePreferences") or ()]
    return max(counts)


def definition_instance_count(definition: Mapping[str, Any]) -> int:
    """Instances of each training job a tuning definition launches.

    HyperParameterTuningResourceConfig replaces ResourceConfig when a definition lets SageMaker
    choose among instance configurations; each training job then runs one of them, so the
    largest one is what a job may get.
    """
    if definition.get("ResourceConfig"):
        return instance_count(definition["ResourceConfig"])
    flexible = definition.get("HyperParameterTuningResourceConfig") or {}
    counts = [int(c.get("InstanceCount") or 0) for c in flexible.get("InstanceConfigs") or ()]
    return max([int(flexible.get("InstanceCount") or 0), *counts])


def security_group_sets(kind: JobKind, spec: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """The security-group sets a job's instances run in: one per VPC configuration, from a
    Describe response or a Create request (they use the same member names)."""
    api = JOB_APIS[kind]
    return _group_sets(get_path(s, api.vpc_path) for s in api.specs(spec))


class GroupSet(tuple[str, ...]):
    """The security-group IDs of one VpcConfig (a tuple, as before), with the subnets of the
    same VpcConfig: the subnets say which VPC the job runs in, and the guard changes no group
    outside it (security_groups.SecurityGroupRepairer)."""

    subnet_ids: tuple[str, ...]

    def __new__(cls, group_ids: Iterable[str], subnet_ids: Iterable[str] = ()) -> GroupSet:
        group_set = super().__new__(cls, group_ids)
        group_set.subnet_ids = tuple(subnet_ids)
        return group_set


def _group_sets(configs: Iterable[Mapping[str, Any] | None]) -> tuple[tuple[str, ...], ...]:
    sets: list[tuple[str, ...]] = []
    for vpc in configs:
        groups = GroupSet((vpc or {}).get("SecurityGroupIds") or (), (vpc or {}).get("Subnets") or ())
        if groups and groups not in sets:
            sets.append(groups)
    return tuple(sets)


@dataclass(frozen=True)
class Job:
    """A job as the policy sees it.

    `encrypted` means every spec is encrypted (a tuning job's definitions), and `instance_count`
    is the largest among the unencrypted specs (among all when all are encrypted): one
    unencrypted distributed definition makes the tuning job non-compliant. For a job whose
    instances SageMaker decides (AutoML), `instances_decided_by_service` is True and
    `instance_count` is 0.
    """

    kind: JobKind
    name: str
    arn: str
    status: str
    encrypted: bool
    instance_count: int
    security_group_sets: tuple[tuple[str, ...], ...]  # one set per VPC configuration
    parent_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    unencrypted_definitions: Sequence[str] = ()
    role_arns: tuple[str, ...] = ()  # the execution role(s) its work runs as
    instances_decided_by_service: bool = False
    active: bool | None = None  # runs or will run work (JobApi.active_statuses); None: InProgress

    @classmethod
    def from_describe(cls, api: JobApi, described: Mapping[str, Any], tags: Mapping[str, str]) -> Job:
        specs = api.specs(described)
        unencrypted = [s for s in specs if not api.encrypted(s)]
        counts = [api.instances(s) for s in (unencrypted or specs)]
        roles = [s.get("RoleArn") for s in specs] + [described.get("RoleArn")]
        return cls(
            kind=api.kind,
            name=described[api.name_member],
            arn=described[api.arn_member],
            status=described[api.status_member],
            encrypted=bool(specs) and not unencrypted,
            instance_count=max((c for c in counts if c is not None), default=0),
            security_group_sets=security_group_sets(api.kind, described),
            parent_arn=api.parent_arn(described),
            tags=dict(tags),
            unencrypted_definitions=tuple(
                str(s["DefinitionName"]) for s in unencrypted if api.has_definitions and s.get("DefinitionName")
            ),
            role_arns=tuple(dict.fromkeys(str(r) for r in roles if r)),
            instances_decided_by_service=None in counts,
            active=api.is_active(str(described[api.status_member])),
        )

    @property
    def in_progress(self) -> bool:
        return self.active if self.active is not None else self.status == IN_PROGRESS

    @property
    def remediation_tag(self) -> str | None:
        return self.tags.get(REMEDIATION_TAG)

    @property
    def pipeline_execution_arn(self) -> str | None:
        return self.tags.get(PIPELINE_EXECUTION_TAG)

    @property
    def pipeline_step_name(self) -> str | None:
        return self.tags.get(PIPELINE_STEP_TAG)

    @property
    def parent_kind(self) -> JobKind | None:
        """The kind of the parent, when it is one the guard remediates (a monitoring schedule,
        for one, is not a job: None)."""
        resource = arn_resource_type(self.parent_arn) if self.parent_arn else None
        return JobKind(resource) if resource in JOB_APIS else None

    @property
    def parent_name(self) -> str | None:
        return self.parent_arn.rsplit("/", 1)[-1] if self.parent_arn else None


def arn_resource_type(arn: str) -> str | None:
    """`training-job` of arn:<partition>:sagemaker:<region>:<account>:training-job/<name>."""
    parts = arn.split(":", 5)
    return parts[5].partition("/")[0] if len(parts) == 6 and "/" in parts[5] else None


# Every API the guard calls by kind: the jobs, and the job definitions it copies for a schedule.
API_BY_KIND: dict[JobKind, JobApi] = {**JOB_APIS, **{api.kind: api for api in DEFINITION_APIS.values()}}
# The Create events the job guard handles: each job kind's, and a job definition's (the schedules
# that run it are judged again: JobGuard.handle).
JOB_APIS_BY_EVENT: dict[str, JobApi] = {
    event: api for api in (*JOB_APIS.values(), *DEFINITION_APIS.values()) for event in api.event_names
}
MONITORING_TYPE_OF: dict[JobKind, str] = {api.kind: monitoring_type for monitoring_type, api in DEFINITION_APIS.items()}
