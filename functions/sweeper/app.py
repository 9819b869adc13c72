"""Sweeper: scheduled EventBridge events; re-checks the running jobs the real-time path may have missed."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from ict_guard.runtime import sweeper_runtime

logger = Logger()
metrics = Metrics()
# X-Ray patches only botocore: the guard calls AWS through nothing else (see job_guard/app.py).
tracer = Tracer(patch_modules=("botocore",))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return sweeper_runtime().handle(event, context)
