"""Fixtures for the reliability suites: the guard deployed on the embedded AWS, fault injection on
the guard's own clients, and figures recorded for the end of the run (tests/conftest.py prints
them, also under xdist)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ict_guard.runtime import job_guard_runtime
from sandbox.environment import GuardSandbox, deployed_guard
from sandbox.faults import FaultInjector, FaultProfile, guard_clients
from sandbox.reliability import CampaignReport, Verdict

# The user property tests/conftest.py's terminal-summary hook prints. The hook lives there, not
# here: under xdist the controller process, which writes the summary, never imports this
# directory's conftest (it collects nothing), so a hook here printed nothing with `-n auto`.
FIGURES = "reliability figures"


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardSandbox]:
    """An account with the guard deployed (relaunch mode, template defaults) and the real handler
    behind the template's rules with Lambda's asynchronous retry semantics."""
    with deployed_guard(monkeypatch.setenv) as account:
        yield account


@pytest.fixture
def faults(guard: GuardSandbox) -> Iterator[Callable[..., FaultInjector]]:
    """`faults(rate=0.3, seed=1)` attaches a FaultInjector to every client of the guard's runtime
    (SageMaker, EC2, SNS, DynamoDB, which the idempotency store uses too), with botocore's
    backoff delays skipped."""
    attached: list[FaultInjector] = []

    def attach(**profile: Any) -> FaultInjector:
        injector = FaultInjector(FaultProfile(**profile)).attach(
            *guard_clients(job_guard_runtime().clients)
        )
        attached.append(injector)
        return injector

    yield attach
    for injector in attached:
        injector.detach()


@pytest.fixture
def setting() -> Callable[[str, Any], Any]:
    """`setting("LOAD_JOBS", 1000)`: an environment override of a suite's size, typed like the
    default."""

    def read(name: str, default: Any) -> Any:
        return type(default)(os.environ.get(name, default))

    return read


@pytest.fixture
def figures(record_property: Callable[[str, Any], None]) -> Callable[[str], None]:
    """Record a block of figures; they are printed in the terminal summary of the run."""

    def record(text: str) -> None:
        record_property(FIGURES, text)
        print(text)

    return record


@pytest.fixture
def verdict(figures: Callable[[str], None]) -> Callable[[CampaignReport, str], None]:
    """Print a campaign's figures and fail on any job that ended outside the accepted end states.

    (The first campaigns found three such bugs: a lost answer to the idempotency lock or to
    StopTrainingJob, and a resumed run failing without an alert; each has its own reproduction
    in test_fault_injection.py, and none is tolerated here any more.)"""

    def check(report: CampaignReport, title: str) -> None:
        text = report.figures(title)
        figures(text)
        assert report.unexpected_jobs == [], text
        assert report.violations == [], text
        for job in report.jobs:
            if job.spec.profile.must_relaunch:
                assert job.verdict is Verdict.REMEDIATED or job.dead_lettered, job

    return check
