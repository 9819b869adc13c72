"""`ict-guard`: the operator's command line for sagemaker-ict-guard.

Audit an account before enforcing (`scan`), ask what the guard would do with one job and why
(`explain`, the Lambda's own decision code, nothing changed), and print an SCP or permissions
boundary that prevents unencrypted jobs from being created at all (`guardrail`).

Kept outside the Lambda layer: the layer stays small and free of CLI dependencies (click, rich).
"""

import enum


class ExitCode(enum.IntEnum):
    """Exit codes, stable for CI pipelines and scripts."""

    OK = 0  # no findings / the guard would leave the job alone
    FINDINGS = 1  # scan found something / the guard would act on the job
    USAGE = 2  # bad option or argument (click's own code for usage errors)
    AWS_ERROR = 3  # credentials, permissions, endpoint, or a check that could not run
    NOT_FOUND = 4  # explain: no such job in this account and region


def main() -> None:
    """The console script: the CLI's own dependencies are an extra (`pip install '.[cli]'`)."""
    try:
        from ict_guard_cli.app import main as run
    except ModuleNotFoundError as exc:
        if exc.name not in ("click", "rich"):
            raise
        raise SystemExit(
            f"ict-guard needs {exc.name}: pip install 'sagemaker-ict-guard[cli]' "
            "(or -r requirements/dev.txt in a checkout)"
        ) from None
    run()
