from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ict_guard.jobs import JOB_APIS, REMEDIATION_TAG, Job, JobKind, instance_count
from ict_guard.policy import Action, History, Intent, decide, history_from_tag, needs_history
from ict_guard.settings import RemediationMode, Settings

pytestmark = pytest.mark.unit

RELAUNCH = Settings(mode=RemediationMode.RELAUNCH)


def job(**overrides) -> Job:
    base = Job(
        kind=JobKind.TRAINING,
        name="train-1",
        arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
        status="InProgress",
        encrypted=False,
        instance_count=2,
        security_group_sets=(("sg-1",),),
        parent_arn=None,
        tags={},
    )
    return dataclasses.replace(base, **overrides)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (RemediationMode.NOTIFY, Action.NOTIFY),
        (RemediationMode.STOP, Action.STOP),
        (RemediationMode.RELAUNCH, Action.RELAUNCH),
    ],
)
def test_unencrypted_running_distributed_job_follows_the_mode(mode, expected):
    assert decide(job(), Settings(mode=mode)).action is expected


def test_child_of_tuning_job_is_left_to_the_parent_even_when_exempt_or_unencrypted():
    child = job(
        parent_arn="arn:aws:sagemaker:us-east-1:1:hyper-parameter-tuning-job/t", tags={"ict-guard:exempt": "true"}
    )
    assert decide(child, RELAUNCH).action is Action.LEAVE_TO_PARENT


def test_exempt_job_is_notified_not_touched_and_tag_value_is_case_insensitive():
    assert decide(job(tags={"ict-guard:exempt": "TRUE"}), RELAUNCH).action is Action.NOTIFY
    assert decide(job(tags={"ict-guard:exempt": "false"}), RELAUNCH).action is Action.RELAUNCH


def test_exemption_uses_the_configured_tag_key():
    settings = Settings(mode=RemediationMode.RELAUNCH, exempt_tag_key="team:skip-ict")
    assert decide(job(tags={"team:skip-ict": "true"}), settings).action is Action.NOTIFY
    assert decide(job(tags={"ict-guard:exempt": "true"}), settings).action is Action.RELAUNCH


def test_below_minimum_instance_count_is_ignored():
    assert decide(job(instance_count=1), RELAUNCH).action is Action.NOTHING
    four = Settings(mode=RemediationMode.RELAUNCH, min_instance_count=4)
    assert decide(job(instance_count=3), four).action is Action.NOTHING
    assert decide(job(instance_count=4), four).action is Action.RELAUNCH


def test_encrypted_vpc_job_gets_only_security_groups_and_only_when_repair_is_on():
    assert decide(job(encrypted=True), RELAUNCH).action is Action.REPAIR_SECURITY_GROUPS
    off = Settings(repair_security_groups=False)
    assert decide(job(encrypted=True), off).action is Action.NOTHING
    assert decide(job(encrypted=True, security_group_sets=()), RELAUNCH).action is Action.NOTHING


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_finished_work_is_never_relaunched_without_unfinished_history(status):
    assert decide(job(status=status), RELAUNCH).action is Action.NOTIFY


def test_a_job_the_guard_stopped_resumes_until_settled():
    stopped = job(status="Stopped")
    assert decide(stopped, RELAUNCH, History(Intent.RELAUNCH, settled=False)).action is Action.RESUME
    assert decide(stopped, RELAUNCH, History(Intent.RELAUNCH, settled=True)).action is Action.NOTHING
    # The mode may have changed since; the owed work is finished regardless.
    notify = Settings(mode=RemediationMode.NOTIFY)
    assert decide(stopped, notify, History(Intent.RELAUNCH, settled=False)).action is Action.RESUME


def test_history_from_the_remediation_tag():
    assert history_from_tag("relaunch-pending") == History(Intent.RELAUNCH, settled=False)
    assert history_from_tag("relaunched") == History(Intent.RELAUNCH, settled=True)
    assert history_from_tag("stopped") == History(Intent.STOP, settled=True)
    assert history_from_tag("something-else") is None
    assert history_from_tag(None) is None


def test_history_is_only_needed_for_unencrypted_jobs_that_stopped_running():
    assert needs_history(job(status="Stopped"))
    assert not needs_history(job())
    assert not needs_history(job(status="Stopped", encrypted=True))
    assert job(tags={REMEDIATION_TAG: "relaunched"}).remediation_tag == "relaunched"


def test_instance_count_sums_heterogeneous_instance_groups():
    assert instance_count({"InstanceCount": 3, "InstanceType": "ml.p4d.24xlarge"}) == 3
    groups = {"InstanceGroups": [{"InstanceCount": 1}, {"InstanceCount": 2}]}
    assert instance_count(groups) == 3
    assert instance_count({"InstanceCount": 0, **groups}) == 3
    assert instance_count(None) == 0


jobs = st.builds(
    Job,
    kind=st.sampled_from(list(JOB_APIS)),
    name=st.just("j"),
    arn=st.just("arn:aws:sagemaker:us-east-1:1:training-job/j"),
    status=st.sampled_from(["InProgress", "Completed", "Failed", "Stopping", "Stopped"]),
    encrypted=st.booleans(),
    instance_count=st.integers(0, 10),
    security_group_sets=st.lists(st.sampled_from([("sg-1",), ("sg-2", "sg-3")]), max_size=2).map(tuple),
    parent_arn=st.none() | st.just("arn:aws:sagemaker:us-east-1:1:automl-job/a"),
    tags=st.dictionaries(st.sampled_from(["ict-guard:exempt", "team"]), st.sampled_from(["true", "no"])),
)
settings = st.builds(
    Settings,
    mode=st.sampled_from(list(RemediationMode)),
    min_instance_count=st.integers(1, 5),
    repair_security_groups=st.booleans(),
)
histories = st.none() | st.builds(History, st.sampled_from(list(Intent)), st.booleans())


@given(jobs, settings, histories)
def test_safety_properties_of_every_decision(j, s, h):
    action = decide(j, s, h).action
    mutating = {Action.STOP, Action.RELAUNCH, Action.RESUME, Action.REPAIR_SECURITY_GROUPS}
    if j.parent_arn or j.tags.get("ict-guard:exempt") == "true":
        assert action not in mutating  # children and exempt jobs are never touched
    if j.instance_count < s.min_instance_count:
        assert action not in mutating
    if action in (Action.STOP, Action.RELAUNCH):
        assert j.in_progress and not j.encrypted  # only running, unencrypted work is stopped
        assert s.mode.value == action.value
    in_place = JOB_APIS[j.kind].in_place
    if action is Action.RESUME:
        assert h is not None and not h.settled
        # a schedule: the update was made (it is encrypted) or it was stopped, its alert is owed;
        # a job: stopped
        assert (j.encrypted or not j.in_progress) if in_place else not j.in_progress
    if j.encrypted:
        assert action not in (Action.STOP, Action.RELAUNCH)
        assert action is not Action.RESUME or in_place


@pytest.mark.parametrize(
    ("pattern", "role", "allowed"),
    [
        (None, "arn:aws:iam::1:role/anything", True),
        ("*", "arn:aws:iam::1:role/path/anything", True),
        ("ml-*", "arn:aws:iam::1:role/ml-team", True),
        ("ml-*", "arn:aws:iam::1:role/ops", False),
        ("service-role/*", "arn:aws:iam::1:role/service-role/X", True),
        ("service-role/*", "arn:aws:iam::1:role/X", False),
    ],
)
def test_role_patterns_follow_iam_wildcards(pattern, role, allowed):
    env = {"RELAUNCH_ROLE_PATTERN": pattern} if pattern else {}
    assert Settings.from_env(env).may_pass_role(role) is allowed
