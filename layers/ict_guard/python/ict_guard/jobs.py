"""The kinds of job the guard remediates, and what it knows about one job: read from Describe*
and ListTags, nothing else."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

REMEDIATION_TAG = "ict-guard:remediation"
RELAUNCHED_FROM_TAG = "ict-guard:relaunched-from"
MANAGED_TAG = "ict-guard:managed"
GUARD_TAG_PREFIX = "ict-guard:"
RESERVED_TAG_PREFIX = "aws:"  # Create* rejects tag keys with this prefix
# SageMaker Pipelines tags every job a step starts with the execution and the step; a copy made
# outside the pipeline would leave the step failed and the copy orphaned (developer guide,
# "Pipelines" tagging; the tags appear on the job's ListTags).
PIPELINE_EXECUTION_TAG = "sagemaker:pipeline-execution-arn"
PIPELINE_STEP_TAG = "sagemaker:pipeline-step-name"


class JobKind(enum.StrEnum):
    """The resource type, as SageMaker writes it in ARNs."""

    TRAINING = "training-job"
    TUNING = "hyper-parameter-tuning-job"


@dataclass(frozen=True)
class JobApi:
    """The SageMaker API of one kind of job."""

    kind: JobKind
    create_operation: str
    describe_operation: str
    stop_operation: str
    name_member: str
    arn_member: str
    status_member: str
    name_max_length: int  # from the botocore model: TrainingJobName 63, tuning job names 32

    @cached_property
    def name_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{self.name_max_length - 1}}}$")

    @property
    def event_name_parameter(self) -> str:
        """CloudTrail writes requestParameters and responseElements in lower camel case."""
        return _lower_camel(self.name_member)

    @property
    def event_arn_element(self) -> str:
        return _lower_camel(self.arn_member)


def _lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


TRAINING_API = JobApi(
    kind=JobKind.TRAINING,
    create_operation="CreateTrainingJob",
    describe_operation="DescribeTrainingJob",
    stop_operation="StopTrainingJob",
    name_member="TrainingJobName",
    arn_member="TrainingJobArn",
    status_member="TrainingJobStatus",
    name_max_length=63,
)
TUNING_API = JobApi(
    kind=JobKind.TUNING,
    create_operation="CreateHyperParameterTuningJob",
    describe_operation="DescribeHyperParameterTuningJob",
    stop_operation="StopHyperParameterTuningJob",
    name_member="HyperParameterTuningJobName",
    arn_member="HyperParameterTuningJobArn",
    status_member="HyperParameterTuningJobStatus",
    name_max_length=32,
)
JOB_APIS: dict[JobKind, JobApi] = {api.kind: api for api in (TRAINING_API, TUNING_API)}
JOB_APIS_BY_EVENT: dict[str, JobApi] = {api.create_operation: api for api in JOB_APIS.values()}


class RemediationTag(enum.StrEnum):
    """Values of REMEDIATION_TAG on an original job: what the guard did to it."""

    RELAUNCH_PENDING = "relaunch-pending"  # stopped by the guard; its re-launch is still owed
    RELAUNCHED = "relaunched"
    STOPPED = "stopped"
    # stopped by the guard; SageMaker refused its copy (and every fallback): a person re-launches
    RELAUNCH_REFUSED = "relaunch-refused"


IN_PROGRESS = "InProgress"


def tags_to_dict(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags if "Key" in t}


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


def tuning_definitions(described: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """TrainingJobDefinition, or each of TrainingJobDefinitions (multi-algorithm tuning)."""
    if described.get("TrainingJobDefinition"):
        return [described["TrainingJobDefinition"]]
    return list(described.get("TrainingJobDefinitions") or [])


def security_group_sets(kind: JobKind, spec: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """The security-group sets a job's instances run in: one per VPC configuration, from a
    Describe response or a Create request (they use the same member names)."""
    if kind is JobKind.TUNING:
        return _group_sets(d.get("VpcConfig") for d in tuning_definitions(spec))
    return _group_sets([spec.get("VpcConfig")])


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

    For a tuning job, `encrypted` means every definition is encrypted, and `instance_count` is
    the largest among the unencrypted definitions (among all when all are encrypted): one
    unencrypted distributed definition makes the tuning job non-compliant.
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
    role_arns: tuple[str, ...] = ()  # the execution role(s) its training runs as

    @classmethod
    def from_describe(cls, api: JobApi, described: Mapping[str, Any], tags: Mapping[str, str]) -> Job:
        if api.kind is JobKind.TUNING:
            return cls._from_tuning(described, tags)
        return cls(
            kind=JobKind.TRAINING,
            name=described["TrainingJobName"],
            arn=described["TrainingJobArn"],
            status=described["TrainingJobStatus"],
            encrypted=bool(described.get("EnableInterContainerTrafficEncryption", False)),
            instance_count=instance_count(described.get("ResourceConfig")),
            security_group_sets=security_group_sets(JobKind.TRAINING, described),
            parent_arn=described.get("TuningJobArn") or described.get("AutoMLJobArn"),
            tags=dict(tags),
            role_arns=tuple(filter(None, [described.get("RoleArn")])),
        )

    @classmethod
    def _from_tuning(cls, described: Mapping[str, Any], tags: Mapping[str, str]) -> Job:
        definitions = tuning_definitions(described)
        unencrypted = [d for d in definitions if not d.get("EnableInterContainerTrafficEncryption")]
        counted = unencrypted or definitions
        return cls(
            kind=JobKind.TUNING,
            name=described["HyperParameterTuningJobName"],
            arn=described["HyperParameterTuningJobArn"],
            status=described["HyperParameterTuningJobStatus"],
            encrypted=bool(definitions) and not unencrypted,
            instance_count=max((definition_instance_count(d) for d in counted), default=0),
            security_group_sets=security_group_sets(JobKind.TUNING, described),
            tags=dict(tags),
            unencrypted_definitions=tuple(
                str(d["DefinitionName"]) for d in unencrypted if d.get("DefinitionName")
            ),
            role_arns=tuple(dict.fromkeys(d["RoleArn"] for d in definitions if d.get("RoleArn"))),
        )

    @property
    def in_progress(self) -> bool:
        return self.status == IN_PROGRESS

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
        """The kind of the parent, when it is one the guard remediates."""
        if self.parent_arn and f":{JobKind.TUNING.value}/" in self.parent_arn:
            return JobKind.TUNING
        return None

    @property
    def parent_name(self) -> str | None:
        return self.parent_arn.rsplit("/", 1)[-1] if self.parent_arn else None
