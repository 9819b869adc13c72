"""sandbox.template: CloudFormation short forms, Globals, and the guards against intrinsics."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from sandbox.template import (
    TemplateError,
    event_rules,
    function_environment,
    function_properties,
    install_rules,
    load_template,
)

pytestmark = pytest.mark.template

SHORT_FORMS = """
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition NotProd, !Condition IsProd]]
Resources:
  Thing:
    Type: AWS::Example::Thing
    Properties:
      Name: !Sub "${AWS::StackName}-thing"
      Arn: !GetAtt Other.Outputs.Arn
      ArnList: !GetAtt [Other, Arn]
      Pick: !Select [0, !Split [",", !Join [",", [a, b]]]]
      Map: !FindInMap [Map, !Ref AWS::Region, Key]
      Data: !Base64 hello
      Shared: !ImportValue shared-export
      Zones: !GetAZs ""
      Blocks: !Cidr [10.0.0.0/16, 4, 8]
      Maybe: !If [IsProd, yes-value, !Ref AWS::NoValue]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_short_forms_become_long_forms(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, SHORT_FORMS))

    conditions = template["Conditions"]
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert conditions["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert conditions["Both"] == {
        "Fn::And": [
            {"Condition": "IsProd"},
            {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "IsProd"}]},
        ]
    }
    props = template["Resources"]["Thing"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-thing"}
    assert props["Arn"] == {"Fn::GetAtt": ["Other", "Outputs.Arn"]}
    assert props["ArnList"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert props["Pick"] == {
        "Fn::Select": [0, {"Fn::Split": [",", {"Fn::Join": [",", ["a", "b"]]}]}]
    }
    assert props["Map"] == {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "Key"]}
    assert props["Data"] == {"Fn::Base64": "hello"}
    assert props["Shared"] == {"Fn::ImportValue": "shared-export"}
    assert props["Zones"] == {"Fn::GetAZs": ""}
    assert props["Blocks"] == {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}
    assert props["Maybe"] == {"Fn::If": ["IsProd", "yes-value", {"Ref": "AWS::NoValue"}]}


def test_unknown_tags_read_as_cloudformation_reads_them(tmp_path: Path) -> None:
    """cfn-lint's loader, like CloudFormation, reads any `!Name` as `Fn::Name` (the hand-written
    loader it replaced refused unknown tags; cfn-lint's rules report them instead), and the
    helpers treat it as an intrinsic where a literal is needed."""
    template = load_template(write(tmp_path, "Resources:\n  X: !Bogus value\n"))
    assert template["Resources"]["X"] == {"Fn::Bogus": "value"}
    with pytest.raises(TemplateError, match=r"Pattern uses Fn::Bogus"):
        event_rules(_function_template({"Fn::Bogus": "value"}))


def test_the_nodes_behave_as_plain_values(tmp_path: Path) -> None:
    """cfn-lint's nodes subclass dict, list and str: equal, hashable and serialisable as them."""
    template = load_template(write(tmp_path, SHORT_FORMS))
    props = template["Resources"]["Thing"]["Properties"]
    assert isinstance(props, dict) and isinstance(props["Pick"]["Fn::Select"], list)
    assert json.loads(json.dumps(template)) == template
    assert copy.deepcopy(template) == template
    assert {props["Data"]["Fn::Base64"]: 1} == {"hello": 1}


def test_yaml_errors_still_raise(tmp_path: Path) -> None:
    with pytest.raises(yaml.YAMLError):
        load_template(write(tmp_path, "Resources: [unclosed\n"))


def test_a_file_without_resources_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        load_template(write(tmp_path, "Parameters: {}\n"))


def _function_template(pattern: Any) -> dict[str, Any]:
    return {
        "Globals": {
            "Function": {"Timeout": 30, "Layers": ["g"], "Environment": {"Variables": {"A": "1"}}}
        },
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Timeout": 60,
                    "Layers": ["own"],
                    "Environment": {"Variables": {"B": {"Ref": "P"}}},
                    "Events": {
                        "Rule": {"Type": "EventBridgeRule", "Properties": {"Pattern": pattern}},
                        "Timer": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}},
                    },
                },
            }
        },
    }


def test_globals_merge_the_way_sam_merges_them() -> None:
    properties = function_properties(_function_template({"source": ["x"]}), "Fn")

    assert properties["Timeout"] == 60
    assert properties["Layers"] == ["g", "own"]
    assert properties["Environment"] == {"Variables": {"A": "1", "B": {"Ref": "P"}}}


def test_only_eventbridge_rules_are_read_and_they_must_be_literal() -> None:
    (rule,) = event_rules(_function_template({"source": ["x"]}))
    assert (rule.function_logical_id, rule.event_name) == ("Fn", "Rule")
    assert rule.rule_logical_id == "FnRule"

    with pytest.raises(TemplateError, match=r"Pattern\.detail\.bucket"):
        event_rules(_function_template({"detail": {"bucket": [{"Ref": "Bucket"}]}}))


def test_install_rules_refuses_unmapped_and_unknown_functions() -> None:
    template = _function_template({"source": ["x"]})
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        with pytest.raises(ValueError, match="no target: \\['Fn'\\]"):
            install_rules(events, template, {})
        with pytest.raises(ValueError, match="without rules: \\['Other'\\]"):
            install_rules(
                events, template, {"Fn": "arn:aws:sqs:us-east-1:123456789012:q", "Other": "x"}
            )
        assert events.list_rules()["Rules"] == []


def test_function_environment_uses_parameter_defaults_and_needs_the_rest() -> None:
    template = _function_template({"source": ["x"]})
    template["Parameters"] = {"P": {"Type": "String", "Default": "from-default"}}

    assert function_environment(template, "Fn") == {"A": "1", "B": "from-default"}
    assert function_environment(template, "Fn", {"A": "2"}) == {"A": "2", "B": "from-default"}
    with pytest.raises(TemplateError, match="sets no variable"):
        function_environment(template, "Fn", {"C": "3"})
    del template["Parameters"]["P"]["Default"]
    with pytest.raises(TemplateError, match="give B"):
        function_environment(template, "Fn")
