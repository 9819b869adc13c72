"""`guardrail`: a policy that prevents unencrypted jobs from being created at all.

For teams that move from remediation to prevention. It denies the eleven SageMaker actions that
take the `sagemaker:InterContainerTrafficEncryption` condition key (Bool) when the request does
not turn inter-container traffic encryption on. The eleven, as the Service Authorization
Reference lists the key ("Actions, resources, and condition keys for Amazon SageMaker",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
condition key sagemaker:InterContainerTrafficEncryption: "Filters access by the inter container
traffic encryption associated with the resource in the request"; the same list in iam-floyd's
statement provider generated from that reference, udondan/iam-floyd
lib/generated/policy-statements/sagemaker.ts): CreateTrainingJob, CreateHyperParameterTuningJob,
CreateProcessingJob, CreateAutoMLJob, CreateAutoMLJobV2, the four Create*JobDefinition of model
monitoring (DataQuality, ModelBias, ModelExplainability, ModelQuality),
CreateMonitoringSchedule and UpdateMonitoringSchedule.

When the key is absent from the request:

- Jobs and job definitions (nine actions): `BoolIfExists {key: false}` denies a request that sets
  the flag to false **and** one that leaves it out: for an absent key an ...IfExists operator
  evaluates to true. Leaving the flag out means SageMaker's default, false (API reference:
  EnableInterContainerTrafficEncryption is optional in the request; Describe* returns false).
  A plain `Bool` would let such a request through: a missing key never matches `Bool`.
- Monitoring schedules (Create/UpdateMonitoringSchedule): `Bool {key: false}`, the explicit
  false only. A schedule either defines its job inline (MonitoringScheduleConfig.
  MonitoringJobDefinition, whose NetworkConfig carries the flag) or names a job definition
  (MonitoringJobDefinitionName + MonitoringType; API reference, MonitoringScheduleConfig). A
  schedule that names a definition carries no flag, whatever the definition says: BoolIfExists
  would deny every such schedule, encrypted definitions included. The definition itself was
  created through one of the four Create*JobDefinition actions, which the first statement
  guards (definitions are immutable). What this leaves open is an inline definition that
  leaves the flag out; IAM cannot tell it from a named one by this key.

The exemption: `StringNotEqualsIgnoreCase {aws:RequestTag/<exempt key>: true}` keeps the guard's
exemption: a create request tagged `<exempt key>=true` is not denied. A negated operator
evaluates to true when the request carries no such tag, so untagged requests stay denied. The
guard compares the value case-insensitively too. UpdateMonitoringSchedule takes no tags: for it
the schedule's own tag counts (`aws:ResourceTag/<exempt key>`, a condition key of the
monitoring-schedule resource type); on a create there is no resource yet, the key is absent and
the negated operator true.

Conditions of one statement are ANDed: denied = unencrypted AND not exempt. As an SCP it caps
every principal of the accounts it is attached to (service-linked roles excepted); as a
permissions boundary it caps one role or user, and needs an Allow statement, because a boundary
that allows nothing leaves nothing.
"""

from __future__ import annotations

import enum
import json
from typing import Any

# Where an absent flag is SageMaker's default, false: denied when false or absent.
JOB_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateDataQualityJobDefinition",
    "sagemaker:CreateModelBiasJobDefinition",
    "sagemaker:CreateModelExplainabilityJobDefinition",
    "sagemaker:CreateModelQualityJobDefinition",
)
# Where an absent flag may mean "the schedule names a job definition": denied when false.
SCHEDULE_ACTIONS = (
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
)
GUARDED_ACTIONS = JOB_ACTIONS + SCHEDULE_ACTIONS
CONDITION_KEY = "sagemaker:InterContainerTrafficEncryption"
SCP_MAX_CHARACTERS = 5120  # AWS Organizations' limit for a service control policy
MANAGED_POLICY_MAX_CHARACTERS = 6144  # IAM's limit for a managed policy (a boundary is one)
DENY_SID = "DenyUnencryptedInterContainerTraffic"
SCHEDULE_DENY_SID = "DenyUnencryptedMonitoringSchedules"


class GuardrailFormat(enum.StrEnum):
    SCP = "scp"
    BOUNDARY = "boundary"


def guardrail_policy(policy_format: GuardrailFormat, exempt_tag_key: str | None) -> dict[str, Any]:
    """The policy document; `exempt_tag_key=None` leaves no exemption."""
    condition: dict[str, dict[str, str]] = {"BoolIfExists": {CONDITION_KEY: "false"}}
    schedule_condition: dict[str, dict[str, str]] = {"Bool": {CONDITION_KEY: "false"}}
    if exempt_tag_key:
        condition["StringNotEqualsIgnoreCase"] = {f"aws:RequestTag/{exempt_tag_key}": "true"}
        schedule_condition["StringNotEqualsIgnoreCase"] = {
            f"aws:RequestTag/{exempt_tag_key}": "true",
            f"aws:ResourceTag/{exempt_tag_key}": "true",
        }
    statements: list[dict[str, Any]] = []
    if policy_format is GuardrailFormat.BOUNDARY:
        # The boundary's ceiling; it grants nothing by itself (identity policies still must).
        statements.append(
            {
                "Sid": "AllowWithinIdentityPolicies",
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
            }
        )
    statements.append(
        {
            "Sid": DENY_SID,
            "Effect": "Deny",
            "Action": list(JOB_ACTIONS),
            "Resource": "*",
            "Condition": condition,
        }
    )
    statements.append(
        {
            "Sid": SCHEDULE_DENY_SID,
            "Effect": "Deny",
            "Action": list(SCHEDULE_ACTIONS),
            "Resource": "*",
            "Condition": schedule_condition,
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def render(policy: dict[str, Any], compact: bool = False) -> str:
    if compact:
        return json.dumps(policy, separators=(",", ":"))
    return json.dumps(policy, indent=2)


def size_limit(policy_format: GuardrailFormat) -> int:
    return SCP_MAX_CHARACTERS if policy_format is GuardrailFormat.SCP else MANAGED_POLICY_MAX_CHARACTERS


def notes(policy_format: GuardrailFormat, exempt_tag_key: str | None) -> list[str]:
    found = [
        "Denies the creation of training, tuning, processing and AutoML (V1 and V2) jobs and of "
        "the four model-monitoring job definitions unless EnableInterContainerTrafficEncryption "
        "is true: BoolIfExists also denies requests that leave the flag out (SageMaker's "
        "default is false).",
        "Denies CreateMonitoringSchedule and UpdateMonitoringSchedule when the flag is false. "
        "A schedule that names a job definition carries no flag (the definition's own create "
        "was checked), so an absent flag is allowed there: an inline job definition that "
        "leaves the flag out is not denied.",
        "It applies to single-instance jobs too (IAM has no instance-count key): setting the flag "
        "there costs nothing, it has no effect on one instance.",
    ]
    if exempt_tag_key:
        found.append(
            f"Exemption: a create request tagged {exempt_tag_key}=true is allowed (the guard then "
            "alerts on it and leaves it alone), and so is an update of a monitoring schedule "
            "that carries the tag. Whoever may tag a job may exempt it; restrict the key with "
            "aws:TagKeys conditions if that is too wide. --no-exemption removes it."
        )
    if policy_format is GuardrailFormat.SCP:
        found.append(
            "Attach with `aws organizations create-policy --type SERVICE_CONTROL_POLICY "
            "--content file://guardrail.json` and `attach-policy` to an OU or account."
        )
    else:
        found.append(
            "Set as a permissions boundary (`aws iam create-policy`, then `put-role-permissions-boundary`). "
            "Its Allow * grants nothing by itself: effective permissions are the intersection "
            "with the identity policies."
        )
    found.append(
        "Jobs SageMaker itself launches (a tuning job's training jobs) inherit the flag from "
        "their definition; the guard keeps watching for everything created before the policy."
    )
    return found
