"""At-least-once delivery: EventBridge and Lambda may hand the guard the same event more than once,
and at the same time. However often it comes: one stop, one re-launch, at most one alert per
action, and no security-group rule added twice."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from ict_guard.runtime import job_guard_runtime

pytestmark = pytest.mark.integration

DELIVERIES = 10


def captured_event(guard, name: str, **job: Any) -> dict[str, Any]:
    """Create the job and take its one CloudTrail event off the function's queue, undelivered."""
    guard.create_training_job(name, **job)
    url = guard.env.target_queue_urls["JobGuardFunction"]
    (message,) = guard.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    guard.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return json.loads(message["Body"])


def deliver_concurrently(guard, event: dict[str, Any], count: int) -> list[Any]:
    """`count` deliveries of `event`, released together by a barrier. A delivery that meets the
    job held by another raises, and Lambda retries it a minute later: its retries are deferred
    until `guard.function.retry_pending()`."""
    barrier = threading.Barrier(count)
    invocations: list[Any] = []
    lock = threading.Lock()

    def deliver() -> None:
        barrier.wait(10)
        invocation = guard.function.invoke(event, defer_retries=True)
        with lock:
            invocations.append(invocation)

    threads = [threading.Thread(target=deliver) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(invocations) == count
    return invocations


def assert_remediated_once(guard, faults_injector, name: str, invocations: list[Any]) -> None:
    guard.function.retry_pending()  # a minute later, Lambda retries what met the held job
    assert len(invocations) == DELIVERIES
    # A delivery that met the job held by another failed once (JobBusy), never more.
    assert all(i.attempts <= 2 and not i.dead_lettered for i in invocations), [
        i.errors for i in invocations
    ]
    assert all("JobBusy" in error for i in invocations for error in i.errors)
    # Counted where the guard's requests leave its clients: no fault injected, one attempt each.
    assert faults_injector.attempts[("sagemaker", "StopTrainingJob")] == 1
    assert faults_injector.attempts[("sagemaker", "CreateTrainingJob")] == 1
    copies = [n for n in guard.training_job_names() if n != name]
    assert len(copies) == 1 and guard.tags(copies[0])["ict-guard:relaunched-from"] == name
    alerts = Counter(a["action"] for a in guard.alerts())
    assert alerts["relaunched"] == 1 and max(alerts.values()) == 1, alerts
    assert guard.dead_letters() == []
    outcomes = Counter(i.result["outcome"] for i in invocations)
    # The one that ran, and the ones that got its stored result (at once, or on their retry).
    assert set(outcomes) == {"relaunch"}, outcomes
    assert (
        sum(
            1
            for i in invocations
            if i.result["outcome"] == "relaunch" and not i.result.get("duplicate")
        )
        == 1
    )


def test_ten_deliveries_all_at_once(guard, faults):
    injector = faults(rate=0.0)
    event = captured_event(guard, "dup-burst")
    invocations = deliver_concurrently(guard, event, DELIVERIES)
    assert_remediated_once(guard, injector, "dup-burst", invocations)


def test_ten_deliveries_before_during_and_after_the_first_one_finishes(guard, faults):
    injector = faults(rate=0.0)
    event = captured_event(guard, "dup-mixed")
    runtime = job_guard_runtime()
    inside_stop, release = threading.Event(), threading.Event()

    def hold(**_: Any) -> None:
        inside_stop.set()
        assert release.wait(10)

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", hold)
    invocations: list[Any] = []
    first = threading.Thread(target=lambda: invocations.append(guard.function.invoke(event)))
    first.start()
    assert inside_stop.wait(10)
    during = deliver_concurrently(guard, event, 5)  # while the first holds the job, mid-remediation
    assert all(i.attempts == 1 and i.errors and not i.dead_lettered for i in during)
    release.set()
    first.join(30)
    after = [guard.function.invoke(event) for _ in range(2)] + deliver_concurrently(guard, event, 2)
    assert all(i.result.get("duplicate") for i in after)  # the first outcome, replayed
    guard.function.retry_pending()
    assert all(i.result.get("duplicate") for i in during)  # their retries meet it too
    assert_remediated_once(guard, injector, "dup-mixed", invocations + during + after)


def test_ten_deliveries_of_an_encrypted_job_add_each_ipsec_rule_once(guard, faults):
    faults(rate=0.0)
    event = captured_event(guard, "dup-encrypted", encrypted=True)
    invocations = deliver_concurrently(guard, event, 7) + [
        guard.function.invoke(event) for _ in range(3)
    ]
    guard.function.retry_pending()
    assert all(not i.dead_lettered for i in invocations)
    group = guard.group(guard.env.bare_group_id)
    self_rules = [
        (p["IpProtocol"], p.get("FromPort"))
        for p in group["IpPermissions"]
        for pair in p.get("UserIdGroupPairs", [])
        if pair["GroupId"] == group["GroupId"]
    ]
    assert sorted(self_rules) == [("50", -1), ("udp", 500)]
    assert guard.describe("dup-encrypted")["TrainingJobStatus"] == "InProgress"
    alerts = Counter(a["action"] for a in guard.alerts())
    assert alerts == {"security_groups_repaired": 1}
