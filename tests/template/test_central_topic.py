"""org/central-alert-topic.yaml: the one topic every member account's guard publishes to, and
how it fits the guard's ExistingAlertTopicArn / ExistingAlertTopicKeyArn path."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from sandbox.template import REPO_ROOT, load_template

pytestmark = pytest.mark.template

CENTRAL = REPO_ROOT / "org" / "central-alert-topic.yaml"
SAM_VENV = REPO_ROOT / ".venv-sam"
ORG = {"Ref": "OrganizationId"}


@pytest.fixture(scope="module")
def central() -> dict[str, Any]:
    return load_template(CENTRAL)


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def test_topic_is_encrypted_with_a_rotated_key(central) -> None:
    resources = central["Resources"]
    assert resources["CentralAlertTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["CentralAlertTopicKey", "Arn"]
    }
    assert resources["CentralAlertTopicKey"]["Properties"]["EnableKeyRotation"] is True


def test_only_the_organization_publishes(central) -> None:
    policy = _statements(central["Resources"]["CentralAlertTopicPolicy"]["Properties"]["PolicyDocument"])
    functions = policy["OrganizationFunctionsPublish"]
    assert functions["Action"] == "sns:Publish"
    assert functions["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORG}
    assert "${PublisherRoleNamePattern}" in functions["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"]
    alarms = policy["OrganizationAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceOrgID": ORG}}
    deny = policy["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for statement in policy.values():
        if statement["Effect"] == "Allow":
            assert statement["Action"] == "sns:Publish"


def test_the_key_serves_the_organization_only_through_sns_and_alarms(central, template) -> None:
    key = _statements(central["Resources"]["CentralAlertTopicKey"]["Properties"]["KeyPolicy"])
    functions = key["OrganizationFunctionsUseKeyThroughSns"]
    assert sorted(functions["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert functions["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == ORG
    assert functions["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}
    assert key["OrganizationAlarmsUseKey"]["Condition"] == {"StringEquals": {"aws:SourceOrgID": ORG}}
    # What the member accounts' guard asks of the key is exactly what the key policy grants.
    member = template["Resources"]["ExistingAlertTopicKeyPolicy"]["Properties"]["PolicyDocument"]
    (statement,) = member["Statement"]
    assert sorted(statement["Action"]) == sorted(functions["Action"])


def test_outputs_are_the_guards_parameters_and_fit_their_patterns(central, template) -> None:
    outputs = central["Outputs"]
    assert set(outputs) == {"ExistingAlertTopicArn", "ExistingAlertTopicKeyArn"} <= set(template["Parameters"])
    topic_pattern = re.compile(template["Parameters"]["ExistingAlertTopicArn"]["AllowedPattern"])
    key_pattern = re.compile(template["Parameters"]["ExistingAlertTopicKeyArn"]["AllowedPattern"])
    # The values CloudFormation returns for Ref of a topic and GetAtt Arn of a key.
    assert topic_pattern.match("arn:aws:sns:eu-west-1:111122223333:security-CentralAlertTopic-AbC123")
    assert key_pattern.match("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")


def test_cfn_lint_accepts_it() -> None:
    # A failure, not a skip, without it: `make test` creates .venv-sam first.
    if not (SAM_VENV / "bin" / "cfn-lint").exists():
        pytest.fail("cfn-lint lives in .venv-sam: run `make test` (or `make validate-template`) once")
    subprocess.run([str(SAM_VENV / "bin" / "cfn-lint"), "--regions", "us-east-1", "--", str(CENTRAL)], check=True)
