"""CKV_ICT_2 (CloudFormation): a monitoring schedule with its job definition inline.

A schedule that names a job definition (MonitoringJobDefinitionName) is judged on that definition
(CKV_ICT_1, or Checkov's CKV_AWS_369 for data quality): UNKNOWN here, neither passed nor failed.
"""

from __future__ import annotations

from typing import Any

from ict_guard_policy import at, count, literal_true, needs_encryption

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SageMakerMonitoringScheduleEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker monitoring schedules with an inline job definition on two or more instances "
            "encrypt inter-container traffic",
            id="CKV_ICT_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SageMaker::MonitoringSchedule"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        definition = at(conf, "Properties", "MonitoringScheduleConfig", "MonitoringJobDefinition")
        if not isinstance(definition, dict):
            self.evaluated_keys = []
            return CheckResult.UNKNOWN
        prefix = "Properties/MonitoringScheduleConfig/MonitoringJobDefinition"
        self.evaluated_keys = [
            f"{prefix}/NetworkConfig/EnableInterContainerTrafficEncryption",
            f"{prefix}/MonitoringResources/ClusterConfig/InstanceCount",
        ]
        if literal_true(at(definition, "NetworkConfig", "EnableInterContainerTrafficEncryption")):
            return CheckResult.PASSED
        instances = count(at(definition, "MonitoringResources", "ClusterConfig", "InstanceCount"))
        return CheckResult.FAILED if needs_encryption(instances) else CheckResult.PASSED


check = SageMakerMonitoringScheduleEncryption()
