"""`guardrail`: a policy that prevents unencrypted jobs from being created at all.

For teams that move from remediation to prevention. One Deny statement on the three SageMaker
actions that take the `sagemaker:InterContainerTrafficEncryption` condition key:

- `BoolIfExists {key: false}` denies a request that sets the flag to false **and** one that
  leaves it out: for an absent key an ...IfExists operator evaluates to true. (A plain `Bool`
  would let a request without the flag through: a missing key never matches `Bool`. The same
  effect takes two statements with `Bool false` and `Null true`.)
- `StringNotEqualsIgnoreCase {aws:RequestTag/<exempt key>: true}` keeps the guard's exemption:
  a create request tagged `<exempt key>=true` is not denied. A negated operator evaluates to true
  when the request carries no such tag, so untagged requests stay denied. The guard compares the
  value case-insensitively too.

Conditions of one statement are ANDed: denied = unencrypted AND not exempt. As an SCP it caps
every principal of the accounts it is attached to (service-linked roles excepted); as a
permissions boundary it caps one role or user, and needs an Allow statement, because a boundary
that allows nothing leaves nothing.
"""

from __future__ import annotations

import enum
import json
from typing import Any

GUARDED_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateProcessingJob",
)
CONDITION_KEY = "sagemaker:InterContainerTrafficEncryption"
SCP_MAX_CHARACTERS = 5120  # AWS Organizations' limit for a service control policy
MANAGED_POLICY_MAX_CHARACTERS = 6144  # IAM's limit for a managed policy (a boundary is one)
DENY_SID = "DenyUnencryptedInterContainerTraffic"


class GuardrailFormat(enum.StrEnum):
    SCP = "scp"
    BOUNDARY = "boundary"


def guardrail_policy(policy_format: GuardrailFormat, exempt_tag_key: str | None) -> dict[str, Any]:
    """The policy document; `exempt_tag_key=None` leaves no exemption."""
    condition: dict[str, dict[str, str]] = {"BoolIfExists": {CONDITION_KEY: "false"}}
    if exempt_tag_key:
        condition["StringNotEqualsIgnoreCase"] = {f"aws:RequestTag/{exempt_tag_key}": "true"}
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
            "Action": list(GUARDED_ACTIONS),
            "Resource": "*",
            "Condition": condition,
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
        "Denies CreateTrainingJob, CreateHyperParameterTuningJob and CreateProcessingJob unless "
        "EnableInterContainerTrafficEncryption is true: BoolIfExists also denies requests that "
        "leave the flag out (SageMaker's default is false).",
        "It applies to single-instance jobs too (IAM has no instance-count key): setting the flag "
        "there costs nothing, it has no effect on one instance.",
    ]
    if exempt_tag_key:
        found.append(
            f"Exemption: a create request tagged {exempt_tag_key}=true is allowed (the guard then "
            "alerts on it and leaves it alone). Whoever may tag a job may exempt it; restrict "
            f"the key with aws:TagKeys conditions if that is too wide. --no-exemption removes it."
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
