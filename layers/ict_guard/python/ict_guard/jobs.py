"""What the guard knows about one job: read from DescribeTrainingJob and ListTags, nothing else."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REMEDIATION_TAG = "ict-guard:remediation"
RELAUNCHED_FROM_TAG = "ict-guard:relaunched-from"
MANAGED_TAG = "ict-guard:managed"
GUARD_TAG_PREFIX = "ict-guard:"
RESERVED_TAG_PREFIX = "aws:"  # CreateTrainingJob rejects tag keys with this prefix


class RemediationTag(enum.StrEnum):
    """Values of REMEDIATION_TAG on an original job: what the guard did to it."""

    RELAUNCH_PENDING = "relaunch-pending"  # stopped by the guard; its re-launch is still owed
    RELAUNCHED = "relaunched"
    STOPPED = "stopped"


class JobStatus(enum.StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


def tags_to_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags if "Key" in t}


def instance_count(resource_config: Mapping[str, Any] | None) -> int:
    """Instances of a job: InstanceCount, or the sum over InstanceGroups (heterogeneous cluster)."""
    if not resource_config:
        return 0
    groups = resource_config.get("InstanceGroups") or []
    if groups:
        return sum(int(g.get("InstanceCount") or 0) for g in groups)
    return int(resource_config.get("InstanceCount") or 0)


@dataclass(frozen=True)
class TrainingJob:
    name: str
    arn: str
    status: str
    encrypted: bool
    instance_count: int
    security_group_ids: tuple[str, ...]
    parent_arn: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_describe(cls, described: Mapping[str, Any], tags: Mapping[str, str]) -> TrainingJob:
        vpc = described.get("VpcConfig") or {}
        return cls(
            name=described["TrainingJobName"],
            arn=described["TrainingJobArn"],
            status=described["TrainingJobStatus"],
            encrypted=bool(described.get("EnableInterContainerTrafficEncryption", False)),
            instance_count=instance_count(described.get("ResourceConfig")),
            security_group_ids=tuple(vpc.get("SecurityGroupIds") or ()),
            parent_arn=described.get("TuningJobArn") or described.get("AutoMLJobArn"),
            tags=dict(tags),
        )

    @property
    def in_progress(self) -> bool:
        return self.status == JobStatus.IN_PROGRESS

    @property
    def remediation_tag(self) -> str | None:
        return self.tags.get(REMEDIATION_TAG)
