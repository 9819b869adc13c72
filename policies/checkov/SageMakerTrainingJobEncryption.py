"""CKV_ICT_3 (CloudFormation): AWS::SageMaker::TrainingJob, on one instance type or on instance
groups (a heterogeneous cluster: the groups' counts add up)."""

from __future__ import annotations

from typing import Any

from ict_guard_policy import UNKNOWN, at, count, literal_true, needs_encryption, total

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SageMakerTrainingJobEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker training jobs on two or more instances encrypt inter-container traffic",
            id="CKV_ICT_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SageMaker::TrainingJob"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = [
            "Properties/EnableInterContainerTrafficEncryption",
            "Properties/ResourceConfig/InstanceCount",
            "Properties/ResourceConfig/InstanceGroups",
        ]
        properties = conf.get("Properties") or {}
        if literal_true(properties.get("EnableInterContainerTrafficEncryption")):
            return CheckResult.PASSED
        groups = at(properties, "ResourceConfig", "InstanceGroups")
        if isinstance(groups, list) and groups:
            instances = total(count(at(group, "InstanceCount")) for group in groups)
        elif groups is None:
            instances = count(at(properties, "ResourceConfig", "InstanceCount"))
        else:  # an intrinsic function where the list goes
            instances = UNKNOWN
        return CheckResult.FAILED if needs_encryption(instances) else CheckResult.PASSED


check = SageMakerTrainingJobEncryption()
