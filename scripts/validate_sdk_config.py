"""Validate a SageMaker Python SDK config file (`config.yaml`) the way the SDK itself does.

Runs with the SDK's own virtual environment (.venv-sdk, requirements/sdk.txt), never with the
development one (the SDK pins attrs<26):

    .venv-sdk/bin/python scripts/validate_sdk_config.py CONFIG.yaml

Two checks, both with the SDK's code rather than a copy of its schema:
  1. jsonschema.validate(config, SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA), the schema module the SDK
     ships (`sagemaker.config.config_schema` in SDK 2.x, `sagemaker.core.config.config_schema` in
     3.x);
  2. the SDK's loader, `load_sagemaker_config`, given the file as SAGEMAKER_ADMIN_CONFIG_OVERRIDE
     (how an administrator deploys it), which validates again and must return the file's content.

Prints one JSON document on stdout: the SDK version, whether the file is valid, the validation
error (message and path) if not, and the flag paths the schema module declares (its
`*_INTER_CONTAINER_ENCRYPTION_PATH` constants and the @remote one), which the caller compares with
the paths `ict-guard defaults` writes. Exit code 0 valid, 1 invalid.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import sys
import tempfile
from typing import Any

import jsonschema
import yaml

# The SDK's "sagemaker.config" logger prints every config location it reads (importing the SDK
# reads them once already) on stdout, unless the logger has a handler before the import
# (sagemaker.config.config_utils): stdout carries only the result, so the log goes to stderr.
logging.getLogger("sagemaker.config").addHandler(logging.StreamHandler(sys.stderr))
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
try:  # SageMaker Python SDK 2.x
    from sagemaker.config import config as sdk_config
    from sagemaker.config import config_schema
except ImportError:  # 3.x moved the module into sagemaker-core
    from sagemaker.core.config import config as sdk_config  # type: ignore[no-redef]
    from sagemaker.core.config import config_schema  # type: ignore[no-redef]


def declared_flag_paths() -> list[str]:
    return sorted(
        getattr(config_schema, name)
        for name in dir(config_schema)
        if name.endswith("INTER_CONTAINER_ENCRYPTION_PATH")
        or name == "REMOTE_FUNCTION_ENABLE_INTER_CONTAINER_TRAFFIC_ENCRYPTION"
    )


def validate(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as stream:
        config = yaml.safe_load(stream)
    result: dict[str, Any] = {
        "sdk_version": importlib.metadata.version("sagemaker"),
        "schema_module": config_schema.__name__,
        "declared_paths": declared_flag_paths(),
        "valid": True,
        "error": None,
        "error_path": None,
    }
    try:
        jsonschema.validate(config, config_schema.SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA)
        # The SDK's own loader, as a Studio or notebook user's session runs it: the admin override
        # is the file; the user override is an empty config.yaml, so that no file of the machine's
        # (~/.config/sagemaker/config.yaml) is merged in.
        with tempfile.TemporaryDirectory() as user_dir:
            open(os.path.join(user_dir, "config.yaml"), "w").close()
            os.environ["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"] = os.path.abspath(path)
            os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = user_dir
            loaded = sdk_config.load_sagemaker_config()
        if loaded != config:
            result.update(valid=False, error="the SDK's loader returned something else than the file")
    except jsonschema.ValidationError as error:
        result.update(valid=False, error=error.message, error_path=[str(p) for p in error.absolute_path])
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: validate_sdk_config.py CONFIG.yaml", file=sys.stderr)
        return 2
    result = validate(argv[1])
    print(json.dumps(result))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
