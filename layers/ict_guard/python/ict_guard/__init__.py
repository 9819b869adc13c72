"""sagemaker-ict-guard: keep SageMaker inter-container traffic encrypted.

The package is the Lambda layer shared by the functions in ``functions/``. Pure decisions
(policy, clone building, rule coverage) live in modules without AWS calls; the service in
``remediation`` puts them together with the AWS edges.
"""

__version__ = "0.1.0"
