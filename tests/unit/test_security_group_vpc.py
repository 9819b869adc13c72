"""SecurityGroupRepairer changes no group outside the job's own VPC (the VPC of its subnets), and
a change IAM refuses (ec2:Vpc outside RepairVpcIds) is a reported problem, never a retry loop.
Over an in-memory EC2 that answers as EC2 does (DescribeSubnets / DescribeSecurityGroups carry
each resource's VpcId)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ict_guard.jobs import GroupSet, JobKind, security_group_sets
from ict_guard.security_groups import SecurityGroupRepairer, groups_outside_vpc

pytestmark = pytest.mark.unit


class FakeEc2:
    def __init__(self, groups: dict[str, str], subnets: dict[str, str], *, deny_vpcs: tuple[str, ...] = ()) -> None:
        self.groups = groups  # group id -> VPC id
        self.subnets = subnets  # subnet id -> VPC id
        self.deny_vpcs = deny_vpcs
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe_security_groups(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("DescribeSecurityGroups", kwargs))
        return {
            "SecurityGroups": [
                {"GroupId": g, "VpcId": self.groups[g], "IpPermissions": [], "IpPermissionsEgress": []}
                for g in kwargs["GroupIds"]
            ]
        }

    def describe_subnets(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("DescribeSubnets", kwargs))
        missing = [s for s in kwargs["SubnetIds"] if s not in self.subnets]
        if missing:
            raise ClientError({"Error": {"Code": "InvalidSubnetID.NotFound", "Message": "x"}}, "DescribeSubnets")
        return {"Subnets": [{"SubnetId": s, "VpcId": self.subnets[s]} for s in kwargs["SubnetIds"]]}

    def _authorize(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kwargs))
        if self.groups[kwargs["GroupId"]] in self.deny_vpcs:
            # What IAM answers when the role's ec2:Vpc condition does not match.
            raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "x"}}, name)
        return {"Return": True}

    def authorize_security_group_ingress(self, **kwargs: Any) -> dict[str, Any]:
        return self._authorize("AuthorizeSecurityGroupIngress", kwargs)

    def authorize_security_group_egress(self, **kwargs: Any) -> dict[str, Any]:
        return self._authorize("AuthorizeSecurityGroupEgress", kwargs)

    def create_tags(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("CreateTags", kwargs))
        return {}

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if not name.startswith("Describe")]


def test_groups_in_the_subnets_vpc_are_repaired():
    ec2 = FakeEc2({"sg-a": "vpc-1", "sg-b": "vpc-1"}, {"subnet-1": "vpc-1", "subnet-2": "vpc-1"})
    result = SecurityGroupRepairer(ec2).repair(GroupSet(["sg-a", "sg-b"], ["subnet-1", "subnet-2"]))
    assert result.problems == [] and len(result.added) == 4
    assert ("DescribeSubnets", {"SubnetIds": ["subnet-1", "subnet-2"]}) in ec2.calls
    assert ec2.writes().count("CreateTags") == 1


def test_a_group_outside_the_jobs_vpc_is_a_problem_and_nothing_changes():
    ec2 = FakeEc2({"sg-a": "vpc-1", "sg-other": "vpc-2"}, {"subnet-1": "vpc-1"})
    result = SecurityGroupRepairer(ec2).repair(["sg-a", "sg-other"], subnet_ids=["subnet-1"])
    assert result.added == [] and ec2.writes() == []
    (problem,) = result.problems
    assert "sg-other" in problem and "vpc-1" in problem and "sg-a" not in problem.split("(")[0]


def test_subnets_in_two_vpcs_leave_the_groups_alone():
    ec2 = FakeEc2({"sg-a": "vpc-1"}, {"subnet-1": "vpc-1", "subnet-2": "vpc-2"})
    result = SecurityGroupRepairer(ec2).repair(GroupSet(["sg-a"], ["subnet-1", "subnet-2"]))
    assert result.added == [] and ec2.writes() == []
    (problem,) = result.problems
    assert "2 VPCs" in problem


def test_unknown_subnets_leave_the_groups_alone():
    ec2 = FakeEc2({"sg-a": "vpc-1"}, {})
    result = SecurityGroupRepairer(ec2).repair(GroupSet(["sg-a"], ["subnet-gone"]))
    assert result.added == [] and ec2.writes() == []
    (problem,) = result.problems
    assert "InvalidSubnetID.NotFound" in problem


def test_a_vpc_iam_does_not_allow_is_a_problem_not_an_exception():
    ec2 = FakeEc2({"sg-a": "vpc-1"}, {"subnet-1": "vpc-1"}, deny_vpcs=("vpc-1",))
    result = SecurityGroupRepairer(ec2).repair(GroupSet(["sg-a"], ["subnet-1"]))
    assert result.added == [] and "CreateTags" not in ec2.writes()
    assert len(result.problems) == 4  # UDP 500 and ESP, in and out
    assert all("UnauthorizedOperation" in p and "RepairVpcIds" in p for p in result.problems)


def test_job_specs_carry_each_vpc_configs_subnets_with_its_groups():
    training = {"VpcConfig": {"SecurityGroupIds": ["sg-a"], "Subnets": ["subnet-1"]}}
    ((groups,),) = [security_group_sets(JobKind.TRAINING, training)]
    assert groups == ("sg-a",) and groups.subnet_ids == ("subnet-1",)
    tuning = {
        "TrainingJobDefinitions": [
            {"VpcConfig": {"SecurityGroupIds": ["sg-a"], "Subnets": ["subnet-1"]}},
            {"VpcConfig": {"SecurityGroupIds": ["sg-b"], "Subnets": ["subnet-9"]}},
        ]
    }
    sets = security_group_sets(JobKind.TUNING, tuning)
    assert [(tuple(s), s.subnet_ids) for s in sets] == [(("sg-a",), ("subnet-1",)), (("sg-b",), ("subnet-9",))]


def test_groups_outside_vpc_lists_only_the_strangers():
    groups = [{"GroupId": "sg-b", "VpcId": "vpc-2"}, {"GroupId": "sg-a", "VpcId": "vpc-1"}, {"GroupId": "sg-c"}]
    assert groups_outside_vpc(groups, "vpc-1") == ["sg-b", "sg-c"]


def test_a_rule_ec2_says_is_already_there_still_makes_its_group_managed() -> None:
    # A lost answer to the guard's own Authorize: botocore's retry meets the rule the first
    # attempt added (InvalidPermission.Duplicate). The rule is the job's now, so its group is
    # tagged managed (the security-group guard keeps it), but it is not reported as added.
    class AlreadyThere(FakeEc2):
        def _authorize(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            raise ClientError({"Error": {"Code": "InvalidPermission.Duplicate", "Message": "x"}}, name)

    ec2 = AlreadyThere({"sg-1": "vpc-1"}, {"subnet-1": "vpc-1"})
    result = SecurityGroupRepairer(ec2).repair(("sg-1",), ["subnet-1"])  # type: ignore[arg-type]
    assert result.added == [] and result.problems == [] and len(result.found) == 4
    tags = [kwargs for name, kwargs in ec2.calls if name == "CreateTags"]
    assert tags == [{"Resources": ["sg-1"], "Tags": [{"Key": "ict-guard:managed", "Value": "true"}]}]
