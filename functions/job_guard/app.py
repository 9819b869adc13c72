"""Job guard: EventBridge "AWS API Call via CloudTrail" events for SageMaker Create* calls."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from ict_guard.runtime import job_guard_runtime

logger = Logger()
metrics = Metrics()
# X-Ray would otherwise patch every library it supports that is installed (requests, sqlite3,
# httplib, ...), importing each on a cold start; the guard calls AWS only through botocore.
tracer = Tracer(patch_modules=("botocore",))


# The correlation id (the CloudTrail eventID) is set once the event is validated: see intake.admit.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return job_guard_runtime().handle(event, context)
