"""`ict-guard guardrail`: the policy's grammar (an independent checker of IAM policy JSON), its
size against the SCP limit, and what it denies (a small evaluator of the operators it uses,
following IAM's rules for absent keys)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli
from ict_guard_cli.guardrail import (
    CONDITION_KEY,
    GUARDED_ACTIONS,
    JOB_ACTIONS,
    SCHEDULE_ACTIONS,
    SCP_MAX_CHARACTERS,
    GuardrailFormat,
    guardrail_policy,
    render,
)

pytestmark = pytest.mark.unit

_TYPES = ("String", "Numeric", "Date", "Bool", "Binary", "IpAddress", "Arn", "Null")
_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
}
_ACTION = re.compile(r"^(\*|[a-z0-9-]+:[A-Za-z0-9*]+)$")
_CONDITION_KEY = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9_./:=+@ -]+$")
_SID = re.compile(r"^[A-Za-z0-9]*$")


def grammar_problems(policy: Any) -> list[str]:
    """IAM policy grammar, the parts a policy of this shape can get wrong."""
    problems = []
    if not isinstance(policy, dict) or set(policy) - {"Version", "Id", "Statement"}:
        return ["top level must be an object of Version, Id, Statement"]
    if policy.get("Version") != "2012-10-17":
        problems.append("Version must be 2012-10-17")
    statements = policy.get("Statement")
    if not isinstance(statements, list) or not statements:
        return [*problems, "Statement must be a non-empty list"]
    sids = [s.get("Sid") for s in statements if isinstance(s, dict) and "Sid" in s]
    if len(sids) != len(set(sids)):
        problems.append("Sids must be unique")
    for i, statement in enumerate(statements):
        where = f"Statement[{i}]"
        # SCPs and permissions boundaries apply to their principals: no Principal element.
        allowed = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
        extra = set(statement) - allowed
        if extra:
            problems.append(f"{where}: unexpected {sorted(extra)}")
        if not _SID.match(str(statement.get("Sid", ""))):
            problems.append(f"{where}: Sid must be alphanumeric")
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"{where}: Effect must be Allow or Deny")
        if ("Action" in statement) == ("NotAction" in statement):
            problems.append(f"{where}: exactly one of Action and NotAction")
        actions = statement.get("Action", statement.get("NotAction"))
        for action in [actions] if isinstance(actions, str) else actions or []:
            if not isinstance(action, str) or not _ACTION.match(action):
                problems.append(f"{where}: bad action {action!r}")
        if ("Resource" in statement) == ("NotResource" in statement):
            problems.append(f"{where}: exactly one of Resource and NotResource")
        resources = statement.get("Resource", statement.get("NotResource"))
        for resource in [resources] if isinstance(resources, str) else resources or []:
            if not isinstance(resource, str) or not (resource == "*" or resource.startswith("arn:")):
                problems.append(f"{where}: bad resource {resource!r}")
        condition = statement.get("Condition", {})
        if not isinstance(condition, dict):
            problems.append(f"{where}: Condition must be an object")
            continue
        for operator, block in condition.items():
            base = re.sub(r"^(ForAllValues|ForAnyValue):", "", operator)
            base = base.removesuffix("IfExists") if base != "Null" else base
            if base not in _OPERATORS:
                problems.append(f"{where}: unknown condition operator {operator}")
            if not isinstance(block, dict) or not block:
                problems.append(f"{where}: {operator} must map keys to values")
                continue
            for key, value in block.items():
                if not _CONDITION_KEY.match(key):
                    problems.append(f"{where}: bad condition key {key!r}")
                values = value if isinstance(value, list) else [value]
                if not all(isinstance(v, str) for v in values):
                    problems.append(f"{where}: condition values must be strings")
                if base in ("Bool", "Null") and not all(v in ("true", "false") for v in values):
                    problems.append(f"{where}: {operator} takes true or false")
    return problems


def condition_holds(operator: str, key: str, expected: str, context: dict[str, str]) -> bool:
    """IAM's evaluation of the operators the guardrail uses, absent keys included."""
    present = key in context
    if operator == "Null":
        return (not present) == (expected == "true")
    if operator.endswith("IfExists") and not present:
        return True
    base = operator.removesuffix("IfExists")
    if base == "Bool":
        return present and context[key].lower() == expected
    if base == "StringNotEqualsIgnoreCase":
        return not present or context[key].lower() != expected.lower()
    if base == "StringEqualsIgnoreCase":
        return present and context[key].lower() == expected.lower()
    raise AssertionError(f"evaluator lacks {operator}")


def denied(policy: dict[str, Any], action: str, context: dict[str, str]) -> bool:
    for statement in policy["Statement"]:
        if statement["Effect"] != "Deny" or action not in statement["Action"]:
            continue
        if all(
            condition_holds(operator, key, value, context)
            for operator, block in statement.get("Condition", {}).items()
            for key, value in block.items()
        ):
            return True
    return False


@pytest.mark.parametrize("policy_format", list(GuardrailFormat))
@pytest.mark.parametrize("exempt_key", ["ict-guard:exempt", "team/security:exempt", None])
def test_the_policy_is_valid_iam_grammar_and_fits_the_scp_limit(policy_format, exempt_key):
    policy = guardrail_policy(policy_format, exempt_key)
    assert grammar_problems(policy) == []
    assert json.loads(render(policy)) == policy == json.loads(render(policy, compact=True))
    assert len(render(policy)) < SCP_MAX_CHARACTERS  # even pretty-printed


# The actions of the Service Authorization Reference (Amazon SageMaker) that take the condition key
# sagemaker:InterContainerTrafficEncryption, written out here independently of the module.
ELEVEN = {
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateDataQualityJobDefinition",
    "sagemaker:CreateModelBiasJobDefinition",
    "sagemaker:CreateModelExplainabilityJobDefinition",
    "sagemaker:CreateModelQualityJobDefinition",
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
}
# A schedule that names a job definition sends no flag: an absent key is not denied there.
SCHEDULES = {"sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule"}


def test_the_policy_covers_the_eleven_actions_that_take_the_key():
    assert len(GUARDED_ACTIONS) == len(set(GUARDED_ACTIONS)) == 11
    assert set(GUARDED_ACTIONS) == ELEVEN
    assert set(SCHEDULE_ACTIONS) == SCHEDULES and set(JOB_ACTIONS) == ELEVEN - SCHEDULES
    for policy_format in GuardrailFormat:
        for key in ("ict-guard:exempt", None):
            policy = guardrail_policy(policy_format, key)
            denied_actions = [a for s in policy["Statement"] if s["Effect"] == "Deny" for a in s["Action"]]
            assert sorted(denied_actions) == sorted(ELEVEN)  # each once, none other


def test_the_scp_only_denies_and_the_boundary_allows_within_identity_policies():
    scp = guardrail_policy(GuardrailFormat.SCP, "ict-guard:exempt")
    assert [s["Effect"] for s in scp["Statement"]] == ["Deny", "Deny"]
    boundary = guardrail_policy(GuardrailFormat.BOUNDARY, "ict-guard:exempt")
    assert [(s["Effect"], s["Action"]) for s in boundary["Statement"]] == [
        ("Allow", "*"),
        ("Deny", list(JOB_ACTIONS)),
        ("Deny", list(SCHEDULE_ACTIONS)),
    ]


@pytest.mark.parametrize("action", sorted(ELEVEN))
@pytest.mark.parametrize("policy_format", list(GuardrailFormat))
def test_every_action_is_denied_when_the_flag_is_false(action, policy_format):
    for key in ("ict-guard:exempt", None):
        policy = guardrail_policy(policy_format, key)
        assert denied(policy, action, {CONDITION_KEY: "false"})
        assert not denied(policy, action, {CONDITION_KEY: "true"})
        # Absent: SageMaker's default (false) where the request would carry the flag; allowed
        # only for schedules, which may name a job definition instead.
        assert denied(policy, action, {}) is (action not in SCHEDULES)


def test_an_exempt_schedule_may_be_updated_with_the_flag_false():
    """UpdateMonitoringSchedule takes no tags: the schedule's own tag is the exemption."""
    key = "ict-guard:exempt"
    policy = guardrail_policy(GuardrailFormat.SCP, key)
    update = "sagemaker:UpdateMonitoringSchedule"
    assert denied(policy, update, {CONDITION_KEY: "false"})
    assert not denied(policy, update, {CONDITION_KEY: "false", f"aws:ResourceTag/{key}": "True"})
    assert denied(policy, update, {CONDITION_KEY: "false", f"aws:ResourceTag/{key}": "false"})
    # Only schedules look at the resource's tag; a job create never has one.
    for action in JOB_ACTIONS:
        assert denied(policy, action, {CONDITION_KEY: "false", f"aws:ResourceTag/{key}": "true"})


def test_the_checker_catches_what_it_should():
    assert grammar_problems({"Statement": []})
    broken = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sagemaker:CreateTrainingJob",
                "Resource": "*",
                "Condition": {"BoolIfExist": {CONDITION_KEY: "no"}},
            }
        ],
    }
    problems = grammar_problems(broken)
    assert any("unknown condition operator" in p for p in problems)


FLAGS = st.sampled_from(["true", "false", "True", None])
TAGS = st.sampled_from(["true", "TRUE", "True", "false", "yes", "", None])


@given(flag=FLAGS, tag=TAGS, action=st.sampled_from(sorted(ELEVEN)), exempt=st.booleans())
def test_denied_exactly_when_unencrypted_and_not_exempt(flag, tag, action, exempt):
    key = "ict-guard:exempt"
    policy = guardrail_policy(GuardrailFormat.SCP, key if exempt else None)
    context = {}
    if flag is not None:
        context[CONDITION_KEY] = flag
    if tag is not None:
        context[f"aws:RequestTag/{key}"] = tag
    explicitly_false = flag is not None and flag.lower() != "true"
    # A schedule without the flag may name a job definition: not judged by this key.
    unencrypted = explicitly_false or (flag is None and action not in SCHEDULES)
    is_exempt = exempt and tag is not None and tag.lower() == "true"
    assert denied(policy, action, context) == (unencrypted and not is_exempt)


def test_other_actions_are_not_touched():
    policy = guardrail_policy(GuardrailFormat.SCP, "ict-guard:exempt")
    assert not denied(policy, "sagemaker:CreateEndpoint", {})


def test_the_command_prints_the_policy_on_stdout_and_notes_on_stderr():
    result = CliRunner().invoke(cli, ["guardrail"])
    assert result.exit_code == ExitCode.OK
    assert json.loads(result.stdout) == guardrail_policy(GuardrailFormat.SCP, "ict-guard:exempt")
    assert "BoolIfExists" in result.stderr and "characters" in result.stderr

    result = CliRunner().invoke(
        cli, ["guardrail", "--format", "boundary", "--exempt-tag-key", "team:skip", "--compact"]
    )
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == guardrail_policy(GuardrailFormat.BOUNDARY, "team:skip")


def test_the_command_as_json_and_without_exemption():
    result = CliRunner().invoke(cli, ["--json", "guardrail", "--no-exemption"])
    document = json.loads(result.stdout)
    assert set(document) == {"format", "policy", "characters", "limit", "notes"}
    assert document["limit"] == SCP_MAX_CHARACTERS and document["characters"] < document["limit"]
    jobs, schedules = document["policy"]["Statement"]
    assert jobs["Condition"] == {"BoolIfExists": {CONDITION_KEY: "false"}}
    assert schedules["Condition"] == {"Bool": {CONDITION_KEY: "false"}}
    assert result.stderr == ""


@pytest.mark.parametrize("key", ["aws:reserved", "", "x" * 129, "bad*key"])
def test_an_invalid_tag_key_is_a_usage_error(key):
    result = CliRunner().invoke(cli, ["guardrail", "--exempt-tag-key", key])
    assert result.exit_code == ExitCode.USAGE
    assert "--exempt-tag-key" in result.stderr
