"""CKV_ICT_6 (Terraform, and Terraform plans): aws_sagemaker_hyper_parameter_tuning_job.

Every training job definition counts: the `training_job_definition` block and each
`training_job_definitions` block. A definition's instances are in `resource_config` or in
`hyper_parameter_tuning_resource_config` (instance_count, or per-group counts that add up).
"""

from __future__ import annotations

from typing import Any

from ict_guard_policy import UNKNOWN, at, count, literal_true, needs_encryption, total

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_GROUP_BLOCKS = ("instance_groups", "instance_configs")


def definition_instances(definition: dict[str, Any]) -> int | None:
    for block in ("resource_config", "hyper_parameter_tuning_resource_config"):
        config = at(definition, block, 0)
        if not isinstance(config, dict):
            continue
        for groups_block in _GROUP_BLOCKS:
            groups = config.get(groups_block)
            if isinstance(groups, list) and groups and all(isinstance(group, dict) for group in groups):
                return total(count(group.get("instance_count")) for group in groups)
        return count(config.get("instance_count"))
    return UNKNOWN


class SageMakerTerraformTuningJobEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SageMaker hyperparameter tuning jobs whose training jobs run on two or more instances "
            "encrypt inter-container traffic",
            id="CKV_ICT_6",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_sagemaker_hyper_parameter_tuning_job"],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["training_job_definition", "training_job_definitions"]
        definitions = [
            definition
            for block in ("training_job_definition", "training_job_definitions")
            for definition in conf.get(block) or ()
            if isinstance(definition, dict)
        ]
        for definition in definitions:
            if literal_true(definition.get("enable_inter_container_traffic_encryption")):
                continue
            if needs_encryption(definition_instances(definition)):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = SageMakerTerraformTuningJobEncryption()
