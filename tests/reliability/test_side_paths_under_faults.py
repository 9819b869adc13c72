"""The side paths under the job guard's fault campaigns: the scheduled sweeper and the
security-group guard, each with throttling, 5xx and timeouts injected per HTTP attempt on every
client of the function under test, and Lambda's retries and dead-letter queue above.

What each job a sweep lists and each managed group may end as is defined (and argued) in
`sandbox/side_campaigns.py`: a job remediated, reported or left for the next sweep, never
skipped silently, never doubled; a managed group covered or alerted, never silently uncovered,
never with a rule twice.

Campaign size and faults: ICT_SIDE_JOBS, ICT_SIDE_TUNING_JOBS, ICT_SIDE_GROUPS (per campaign),
ICT_FAULT_SEED.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ict_guard.runtime import job_guard_runtime, sg_guard_runtime, sweeper_runtime
from ict_guard.security_groups import Direction
from ict_guard.sg_guard import needs_to_restore
from sandbox.faults import TRANSIENT_FAULTS, Fault
from sandbox.lambda_service import QueueTarget
from sandbox.reliability import job_mix
from sandbox.side_campaigns import (
    SG_GUARD,
    SgCampaignReport,
    SweepCampaignReport,
    attach_faults,
    deploy_sg_guard,
    plan_groups,
    run_sg_campaign,
    run_sweep_campaign,
    tuning_mix,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_sweeper(guard) -> Iterator[None]:
    sweeper_runtime.cache_clear()
    yield
    sweeper_runtime.cache_clear()


@pytest.fixture
def sg_function(guard, monkeypatch):
    function = deploy_sg_guard(guard, monkeypatch.setenv)
    yield function
    sg_guard_runtime.cache_clear()


def check_sweeps(report: SweepCampaignReport, figures, title: str) -> None:
    text = report.figures(title)
    figures(text)
    assert report.unexpected_jobs == [], text
    assert report.violations == [], text


def check_groups(report: SgCampaignReport, figures, title: str) -> None:
    text = report.figures(title)
    figures(text)
    assert report.violations == [], text


# `denied` adds AccessDeniedException (EC2: UnauthorizedOperation, SNS: AuthorizationError) to the
# transient faults, one kind in five: a permission missing for one call, which no retry fixes.
WITH_ACCESS_DENIED = {**dict.fromkeys(TRANSIENT_FAULTS, 1.0), Fault.ACCESS_DENIED: 1.0}
SWEEP_CAMPAIGNS = {
    "steady": {"rate": 0.3, "jobs": 40, "tuning": 6},
    "storm": {"rate": 0.6, "jobs": 30, "tuning": 6},
    "denied": {"rate": 0.2, "jobs": 30, "tuning": 4, "weights": WITH_ACCESS_DENIED},
}


@pytest.mark.parametrize("campaign", list(SWEEP_CAMPAIGNS))
def test_every_job_a_sweep_lists_ends_remediated_reported_or_left_for_the_next(
    guard, fresh_sweeper, setting, figures, campaign
):
    settings = SWEEP_CAMPAIGNS[campaign]
    seed = setting("ICT_FAULT_SEED", 20261126)
    injector = attach_faults(
        job_guard_runtime().clients, rate=settings["rate"], seed=seed, **_weights(settings)
    )
    try:
        report = run_sweep_campaign(
            guard,
            job_mix(setting("ICT_SIDE_JOBS", settings["jobs"]), seed, prefix="swept"),
            sweeps=3,
            injector=injector,
            tuning=tuning_mix(setting("ICT_SIDE_TUNING_JOBS", settings["tuning"]), seed),
        )
    finally:
        injector.detach()
    assert injector.total_injected > 0
    check_sweeps(report, figures, f"sweeper campaign '{campaign}'")


SG_CAMPAIGNS = {
    "steady": {"rate": 0.3, "groups": 24},
    "storm": {"rate": 0.6, "groups": 24},
    "denied": {"rate": 0.2, "groups": 24, "weights": WITH_ACCESS_DENIED},
}


def _weights(settings: dict) -> dict:
    return {"weights": settings["weights"]} if "weights" in settings else {}


@pytest.mark.parametrize("campaign", list(SG_CAMPAIGNS))
def test_every_managed_group_ends_covered_or_alerted(
    guard, sg_function, setting, figures, campaign
):
    settings = SG_CAMPAIGNS[campaign]
    seed = setting("ICT_FAULT_SEED", 20261126)
    plans = plan_groups(guard, setting("ICT_SIDE_GROUPS", settings["groups"]), 4, seed)
    injector = attach_faults(
        sg_guard_runtime().clients, rate=settings["rate"], seed=seed, **_weights(settings)
    )
    try:
        report = run_sg_campaign(guard, sg_function, plans, seed=seed, injector=injector)
    finally:
        injector.detach()
    assert injector.total_injected > 0
    check_groups(report, figures, f"security-group guard campaign '{campaign}'")


# -- bugs found by the campaigns, one deterministic reproduction each ------------------------------


def test_a_lost_answer_to_the_restoring_authorize_still_reports_the_removal(guard, sg_function):
    """botocore's retry of an AuthorizeSecurityGroupIngress whose answer was lost meets the rule
    its own first attempt added (InvalidPermission.Duplicate). The guard took that for "somebody
    else added it meanwhile", ended `intact` and sent no alert: the admin's removal of a guard
    rule went unreported although the event's own request removed it."""
    from ict_guard.security_groups import IPSEC_NEEDS, self_referencing_permission

    (plan,) = plan_groups(guard, 1, 0, seed=1)
    udp_in = IPSEC_NEEDS[0]
    admin_session = guard.iam_user_session("network-admin")
    admin_session.client("ec2").revoke_security_group_ingress(
        GroupId=plan.group_id, IpPermissions=[self_referencing_permission(plan.group_id, udp_in)]
    )
    injector = attach_faults(sg_guard_runtime().clients, rate=0.0)
    injector.script("AuthorizeSecurityGroupIngress", Fault.READ_TIMEOUT)

    with injector:
        (invocation,) = QueueTarget(
            guard.sqs, guard.env.target_queue_urls[SG_GUARD], sg_function
        ).drain()

    assert invocation.attempts == 1 and not invocation.dead_lettered
    assert needs_to_restore(guard.group(plan.group_id), set(Direction)) == []
    assert invocation.result["outcome"] == "already-restored"
    alerts = guard.alerts()
    assert [a["action"] for a in alerts] == ["security_groups_restored"], invocation.result
    assert alerts[0]["initiated_by"].endswith(":user/network-admin")
    assert alerts[0]["event_id"] == invocation.event["detail"]["eventID"]


# -- the judges catch what they are there for ------------------------------------------------------


def test_the_sweep_judge_catches_a_job_a_successful_sweep_skipped(guard, fresh_sweeper):
    """A guard that acknowledges one job without doing anything, in sweeps that succeed: the
    judge must call it skipped silently (else a passing campaign proves nothing)."""
    from ict_guard.outcomes import Outcome, Result
    from sandbox.side_campaigns import SweepVerdict

    specs = [s for s in job_mix(16, 3, prefix="judged") if s.profile.must_relaunch][:3]
    assert len(specs) == 3
    guard_ = job_guard_runtime().guard
    real = guard_.remediate

    def skip_first(ref, *, busy_is_ok=False):
        if ref.name == specs[0].name:
            return Result(Outcome.NOTHING, ref.name).as_dict()
        return real(ref, busy_is_ok=busy_is_ok)

    guard_.remediate = skip_first
    report = run_sweep_campaign(guard, specs, sweeps=2)
    verdicts = {job.spec.name: job.verdict for job in report.jobs}
    assert verdicts[specs[0].name] is SweepVerdict.SKIPPED_SILENTLY
    assert {verdicts[s.name] for s in specs[1:]} == {SweepVerdict.REMEDIATED}


def test_the_group_judge_catches_a_removal_acknowledged_without_a_restore(guard, sg_function):
    from sandbox.side_campaigns import SgVerdict, group_of

    plans = plan_groups(guard, 3, 0, seed=5)
    plans = [p for p in plans if p.revoked]
    real = sg_function.handler

    def ignore_first(event, context):
        if group_of(event) == plans[0].group_id:
            return {"outcome": "intact", "group": plans[0].group_id}
        return real(event, context)

    sg_function.handler = ignore_first
    report = run_sg_campaign(guard, sg_function, plans, seed=5)
    verdicts = {g.plan.group_id: g.verdict for g in report.groups}
    assert verdicts[plans[0].group_id] is SgVerdict.UNCOVERED_SILENT
    assert {verdicts[p.group_id] for p in plans[1:]} <= {SgVerdict.COVERED_ALERTED}
