"""CKV_ICT_1 (CloudFormation): model bias, explainability and quality job definitions.

The data-quality job definition is Checkov's own CKV_AWS_369 (which also flags a definition on
one instance), so it is not repeated here.
"""

from __future__ import annotations

from typing import Any

from ict_guard_policy import at, count, literal_true, needs_encryption

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SageMakerMonitoringJobDefinitionEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker model bias, explainability and quality job definitions on two or more "
            "instances encrypt inter-container traffic",
            id="CKV_ICT_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=[
                "AWS::SageMaker::ModelBiasJobDefinition",
                "AWS::SageMaker::ModelExplainabilityJobDefinition",
                "AWS::SageMaker::ModelQualityJobDefinition",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = [
            "Properties/NetworkConfig/EnableInterContainerTrafficEncryption",
            "Properties/JobResources/ClusterConfig/InstanceCount",
        ]
        properties = conf.get("Properties") or {}
        if literal_true(at(properties, "NetworkConfig", "EnableInterContainerTrafficEncryption")):
            return CheckResult.PASSED
        instances = count(at(properties, "JobResources", "ClusterConfig", "InstanceCount"))
        return CheckResult.FAILED if needs_encryption(instances) else CheckResult.PASSED


check = SageMakerMonitoringJobDefinitionEncryption()
