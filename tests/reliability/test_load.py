"""Load on the embedded AWS: many CreateTrainingJob calls (half of them needing a re-launch), each
routed by the template's patterns to the real handler with Lambda's retry semantics, with faults
injected into every call of the guard; the figures report throughput and where every job ended.

    make load                                   1,000 jobs (marker `load`, not in the default run)
    LOAD_JOBS=5000 LOAD_FAULT_RATE=0.1 make load

The default run has a small version (50 jobs) so that CI exercises the same path.
"""

from __future__ import annotations

import pytest

from sandbox.reliability import job_mix, run_campaign


def run_load(guard, faults, setting, verdict, *, jobs: int, title: str) -> None:
    seed = setting("LOAD_SEED", 1000)
    injector = faults(rate=setting("LOAD_FAULT_RATE", 0.2), seed=seed)
    report = run_campaign(guard, job_mix(jobs, seed, prefix="load"), injector=injector, batch=50)
    assert len(report.jobs) == jobs
    verdict(report, title)


@pytest.mark.integration
def test_load_small(guard, faults, setting, verdict):
    run_load(
        guard, faults, setting, verdict, jobs=setting("LOAD_SMALL_JOBS", 50), title="load (CI size)"
    )


@pytest.mark.load
def test_load(guard, faults, setting, verdict):
    run_load(guard, faults, setting, verdict, jobs=setting("LOAD_JOBS", 1000), title="load")
