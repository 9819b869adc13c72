"""CKV_ICT_5 (Terraform, and Terraform plans): aws_sagemaker_training_job.

Checkov's Terraform parser gives every attribute as a list (`[True]`) and every block as a list
of mappings; a variable it could not resolve stays a string such as "${var.count}" (unknown).
"""

from __future__ import annotations

from typing import Any

from ict_guard_policy import UNKNOWN, at, count, literal_true, needs_encryption, total

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def resource_config_instances(config: Any) -> int | None:
    """instance_count, or the sum over instance_groups blocks (a heterogeneous cluster)."""
    if not isinstance(config, dict):
        return UNKNOWN
    groups = config.get("instance_groups")
    if isinstance(groups, list) and groups and all(isinstance(group, dict) for group in groups):
        return total(count(group.get("instance_count")) for group in groups)
    return count(config.get("instance_count"))


class SageMakerTerraformTrainingJobEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker training jobs on two or more instances encrypt inter-container traffic",
            id="CKV_ICT_5",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_sagemaker_training_job"],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["enable_inter_container_traffic_encryption", "resource_config"]
        if literal_true(conf.get("enable_inter_container_traffic_encryption")):
            return CheckResult.PASSED
        instances = resource_config_instances(at(conf, "resource_config", 0))
        return CheckResult.FAILED if needs_encryption(instances) else CheckResult.PASSED


check = SageMakerTerraformTrainingJobEncryption()
