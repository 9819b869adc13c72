from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ict_guard.runtime import JobGuardRuntime, job_guard_runtime
from sandbox.environment import GuardSandbox, deployed_guard


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardSandbox]:
    """moto in-process, the SageMaker extension, the template's rules and resources, and the
    real handler behind them, configured in relaunch mode (reconfigure with `configure`)."""
    with deployed_guard(monkeypatch.setenv) as account:
        yield account


@pytest.fixture
def configure(sandbox: GuardSandbox, monkeypatch: pytest.MonkeyPatch):
    def apply(**policy: str) -> JobGuardRuntime:
        for key, value in sandbox.env.function_environment(**policy).items():
            monkeypatch.setenv(key, value)
        job_guard_runtime.cache_clear()
        return job_guard_runtime()

    return apply


@pytest.fixture
def inject():
    return inject_failure


def inject_failure(client: Any, operation: str, error: BaseException | str = "ThrottlingException", times: int = 1):
    """Make the guard's next `times` calls of `operation` fail before they reach AWS.

    Raised from a botocore before-call hook, so botocore's own retries do not absorb it: this is
    what a call looks like once the retries are exhausted.
    """
    state = {"left": times, "seen": 0}

    def hook(**_: Any) -> None:
        state["seen"] += 1
        if state["left"] > 0:
            state["left"] -= 1
            if isinstance(error, BaseException):
                raise error
            raise ClientError({"Error": {"Code": error, "Message": "injected"}}, operation)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", hook)
    return state
