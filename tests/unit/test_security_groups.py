from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ict_guard.security_groups import (
    IPSEC_NEEDS,
    Direction,
    RuleNeed,
    missing_ipsec_rules,
    self_referencing_permission,
)

pytestmark = pytest.mark.unit

UDP_IN = RuleNeed(Direction.INGRESS, "udp", 500)
ESP_IN = RuleNeed(Direction.INGRESS, "50", None)
UDP_OUT = RuleNeed(Direction.EGRESS, "udp", 500)
ESP_OUT = RuleNeed(Direction.EGRESS, "50", None)


def group(group_id, ingress=(), egress=()):
    return {"GroupId": group_id, "IpPermissions": list(ingress), "IpPermissionsEgress": list(egress)}


def rule(protocol, peer=None, cidr=None, low=None, high=None):
    permission = {"IpProtocol": protocol, "UserIdGroupPairs": [], "IpRanges": []}
    if low is not None:
        permission.update(FromPort=low, ToPort=high if high is not None else low)
    if peer:
        permission["UserIdGroupPairs"].append({"GroupId": peer})
    if cidr:
        permission["IpRanges"].append({"CidrIp": cidr})
    return permission


ALLOW_ALL_EGRESS = rule("-1", cidr="0.0.0.0/0")


def test_a_group_without_rules_misses_all_four():
    assert missing_ipsec_rules([group("sg-1")], ["sg-1"]) == list(IPSEC_NEEDS)


def test_default_allow_all_egress_covers_the_outbound_half():
    assert missing_ipsec_rules([group("sg-1", egress=[ALLOW_ALL_EGRESS])], ["sg-1"]) == [UDP_IN, ESP_IN]


def test_all_traffic_self_rule_covers_its_direction():
    g = group("sg-1", ingress=[rule("-1", peer="sg-1")], egress=[ALLOW_ALL_EGRESS])
    assert missing_ipsec_rules([g], ["sg-1"]) == []


def test_rules_referencing_another_group_of_the_job_count_as_the_union():
    a = group("sg-a", ingress=[rule("udp", peer="sg-b", low=500)], egress=[ALLOW_ALL_EGRESS])
    b = group("sg-b", ingress=[rule("50", peer="sg-a", low=-1, high=-1)])
    assert missing_ipsec_rules([a, b], ["sg-a", "sg-b"]) == []


def test_a_peer_outside_the_job_set_does_not_cover():
    g = group("sg-1", ingress=[rule("-1", peer="sg-other")], egress=[ALLOW_ALL_EGRESS])
    assert missing_ipsec_rules([g], ["sg-1"]) == [UDP_IN, ESP_IN]


def test_a_narrow_cidr_is_not_proof_of_coverage():
    g = group("sg-1", ingress=[rule("-1", cidr="10.0.0.0/16")], egress=[ALLOW_ALL_EGRESS])
    assert missing_ipsec_rules([g], ["sg-1"]) == [UDP_IN, ESP_IN]


@pytest.mark.parametrize(
    ("low", "high", "covers"),
    [(500, 500, True), (0, 65535, True), (400, 499, False), (501, 600, False), (-1, -1, True)],
)
def test_udp_port_ranges(low, high, covers):
    g = group("sg-1", ingress=[rule("udp", peer="sg-1", low=low, high=high)])
    assert (UDP_IN not in missing_ipsec_rules([g], ["sg-1"])) is covers


def test_tcp_500_and_numeric_udp_aliases():
    tcp = group("sg-1", ingress=[rule("tcp", peer="sg-1", low=500)])
    assert UDP_IN in missing_ipsec_rules([tcp], ["sg-1"])
    numeric = group("sg-1", ingress=[rule("17", peer="sg-1", low=500)])
    assert UDP_IN not in missing_ipsec_rules([numeric], ["sg-1"])


def test_groups_not_attached_to_the_job_are_ignored():
    other = group("sg-x", ingress=[rule("-1", peer="sg-1")], egress=[ALLOW_ALL_EGRESS])
    assert missing_ipsec_rules([other, group("sg-1")], ["sg-1"]) == list(IPSEC_NEEDS)


def test_self_referencing_permission_shapes():
    assert self_referencing_permission("sg-1", UDP_IN) == {
        "IpProtocol": "udp",
        "FromPort": 500,
        "ToPort": 500,
        "UserIdGroupPairs": [{"GroupId": "sg-1", "Description": "sagemaker-ict-guard: encrypted inter-container"}],
    }
    esp = self_referencing_permission("sg-1", ESP_OUT)
    assert (esp["IpProtocol"], esp["FromPort"], esp["ToPort"]) == ("50", -1, -1)


group_ids = ["sg-a", "sg-b", "sg-c"]
permissions = st.builds(
    rule,
    protocol=st.sampled_from(["-1", "udp", "tcp", "50", "6"]),
    peer=st.none() | st.sampled_from([*group_ids, "sg-outside"]),
    cidr=st.none() | st.sampled_from(["0.0.0.0/0", "10.0.0.0/8"]),
    low=st.sampled_from([None, 0, 500, 501]),
    high=st.sampled_from([None, 500, 65535]),
)
groups = st.lists(
    st.builds(group, st.sampled_from(group_ids), st.lists(permissions, max_size=3), st.lists(permissions, max_size=3)),
    min_size=1,
    max_size=3,
    unique_by=lambda g: g["GroupId"],
)


@given(groups)
def test_adding_what_is_missing_to_one_group_of_the_set_closes_every_gap(gs):
    job_ids = [g["GroupId"] for g in gs]
    missing = missing_ipsec_rules(gs, job_ids)
    target = gs[0]
    for need in missing:
        key = "IpPermissions" if need.direction is Direction.INGRESS else "IpPermissionsEgress"
        target[key].append(self_referencing_permission(target["GroupId"], need))
    assert missing_ipsec_rules(gs, job_ids) == []


@given(groups)
def test_coverage_never_gets_worse_when_rules_are_added(gs):
    job_ids = [g["GroupId"] for g in gs]
    before = set(missing_ipsec_rules(gs, job_ids))
    gs[-1]["IpPermissions"].append(rule("-1", peer=gs[0]["GroupId"]))
    assert set(missing_ipsec_rules(gs, job_ids)) <= before
