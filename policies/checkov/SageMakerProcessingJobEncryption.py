"""CKV_ICT_4 (CloudFormation): AWS::SageMaker::ProcessingJob."""

from __future__ import annotations

from typing import Any

from ict_guard_policy import at, count, literal_true, needs_encryption

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SageMakerProcessingJobEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker processing jobs on two or more instances encrypt inter-container traffic",
            id="CKV_ICT_4",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SageMaker::ProcessingJob"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = [
            "Properties/NetworkConfig/EnableInterContainerTrafficEncryption",
            "Properties/ProcessingResources/ClusterConfig/InstanceCount",
        ]
        properties = conf.get("Properties") or {}
        if literal_true(at(properties, "NetworkConfig", "EnableInterContainerTrafficEncryption")):
            return CheckResult.PASSED
        instances = count(at(properties, "ProcessingResources", "ClusterConfig", "InstanceCount"))
        return CheckResult.FAILED if needs_encryption(instances) else CheckResult.PASSED


check = SageMakerProcessingJobEncryption()
