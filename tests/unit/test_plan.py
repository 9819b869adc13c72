"""The remediation plan (plan.py) is a pure value; its rules hold for any job, settings and
history (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ict_guard.jobs import TRAINING_API, Job
from ict_guard.ledger import LedgerEntry
from ict_guard.plan import Hints, PlanInput, plan_remediation
from ict_guard.policy import Action, History, Intent, decide
from ict_guard.settings import RemediationMode, Settings, UnrelaunchableJobAction
from ict_guard.steps import MUTATING_STEPS, CreateCopy, Publish, RecordIntent, StopJob
from tests.unit.fakes import MODEL, training_job

pytestmark = pytest.mark.unit

PIPELINE = {
    "sagemaker:pipeline-execution-arn": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e",
    "sagemaker:pipeline-step-name": "S",
}


@st.composite
def inputs(draw: st.DrawFn) -> tuple[PlanInput, Settings]:
    status = draw(st.sampled_from(["InProgress", "Stopping", "Stopped", "Completed", "Failed"]))
    encrypted = draw(st.booleans())
    count = draw(st.integers(0, 4))
    vpc = draw(st.booleans())
    extra: dict[str, Any] = {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}} if vpc else {}
    described = training_job("job-1", encrypted=encrypted, instance_count=count, status=status, **extra)
    tags: dict[str, str] = {}
    if draw(st.booleans()):
        tags |= PIPELINE
    if draw(st.booleans()):
        tags |= {"ict-guard:exempt": "true"}
    if draw(st.booleans()):
        # SageMaker holds at most 50 user tags on the original: fill up to (or near) that.
        room = 50 - len(tags)
        tags |= {f"k{i}": "v" for i in range(draw(st.integers(room - 5, room)))}
    chosen = Settings(
        mode=draw(st.sampled_from(list(RemediationMode))),
        unrelaunchable_job_action=draw(st.sampled_from(list(UnrelaunchableJobAction))),
        repair_security_groups=draw(st.booleans()),
        relaunch_role_pattern=draw(st.sampled_from([None, "service-role/*", "Team*"])),
    )
    entry = None
    if draw(st.booleans()):
        intent = draw(st.sampled_from(list(Intent)))
        entry = LedgerEntry(
            intent=intent,
            settled=draw(st.booleans()),
            relaunch_request=None,
            refusal=draw(st.sampled_from([None, "refused"])),
        )
    job = Job.from_describe(TRAINING_API, described, tags)
    history = History(entry.intent, entry.settled) if entry else None
    hints = Hints((draw(st.sampled_from([None, True, False])),), draw(st.sampled_from([None, True, False])))
    return PlanInput(TRAINING_API, described, tags, job, entry, decide(job, chosen, history), hints), chosen


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_every_plan_keeps_the_rules(case: tuple[PlanInput, Settings]) -> None:
    source, chosen = case
    plan = plan_remediation(source, chosen, MODEL)
    steps = list(plan.steps)
    stops = [i for i, s in enumerate(steps) if isinstance(s, StopJob)]
    creates = [s for s in steps if isinstance(s, CreateCopy)]
    assert len(stops) <= 1 and len(creates) <= 1  # a job is stopped once, copied at most once
    if stops:
        first_mutation = next(i for i, s in enumerate(steps) if isinstance(s, MUTATING_STEPS))
        assert first_mutation == stops[0]  # the stop is the first change to the account
        assert any(isinstance(s, RecordIntent) for s in steps[: stops[0]])  # durable before it
        assert source.job.in_progress and not source.job.encrypted
        assert chosen.mode is not RemediationMode.NOTIFY
    if plan.refusals:
        assert not creates  # nothing is planned after a refused preflight
        assert any(isinstance(s, Publish) and s.action_needed for s in steps)
    if creates:
        request = creates[0].request
        assert request["EnableInterContainerTrafficEncryption"] is True
        assert len(request.get("Tags", [])) <= 50
    if source.job.pipeline_execution_arn and source.decision.action is Action.RELAUNCH:
        assert not creates


def test_the_plan_of_a_relaunch_in_order() -> None:
    described = training_job("resnet-ddp", VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]})
    job = Job.from_describe(TRAINING_API, described, {})
    chosen = Settings(mode=RemediationMode.RELAUNCH)
    plan = plan_remediation(PlanInput(TRAINING_API, described, {}, job, None, decide(job, chosen)), chosen, MODEL)
    assert plan.descriptions() == [
        "record the re-launch request",
        "stop resnet-ddp",
        "tag resnet-ddp ict-guard:remediation=relaunch-pending",
        "check and repair the security groups",
        f"create {plan.relaunch_request['TrainingJobName']} with encryption on",
        "alert",
        # After the alert: a resumed run that finds this tag knows the alert went out.
        "tag resnet-ddp ict-guard:remediation=relaunched",
    ]
