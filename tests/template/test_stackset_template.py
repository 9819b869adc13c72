"""The organisation roll-out path: template.yaml expands, offline, into plain CloudFormation that
service-managed StackSets accept (no Transform), keeping every parameter and condition."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.template import REPO_ROOT

pytestmark = pytest.mark.template

SAM_PYTHON = REPO_ROOT / ".venv-sam" / "bin" / "python"


def _require_sam_venv() -> None:
    # A failure, not a skip: a template that no longer expands must never pass unnoticed.
    # `make test` creates .venv-sam first (as `make validate-template` does).
    if not SAM_PYTHON.exists():
        pytest.fail("needs .venv-sam with the SAM translator: run `make test` (or `make validate-template`) once")


@pytest.fixture
def _sam_venv() -> None:
    _require_sam_venv()


needs_sam_venv = pytest.mark.usefixtures("_sam_venv")


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _require_sam_venv()
    out: Path = tmp_path_factory.mktemp("stackset") / "stackset.json"
    subprocess.run(
        [str(SAM_PYTHON), str(REPO_ROOT / "scripts" / "expand_template.py"), "--check", "-o", str(out)],
        check=True,
        cwd=REPO_ROOT,
    )
    return json.loads(out.read_text(encoding="utf-8"))


@needs_sam_venv
def test_the_expansion_has_no_transform_and_no_sam_resources(expanded, template) -> None:
    assert "Transform" not in expanded
    types = {r["Type"] for r in expanded["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Serverless::")}
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Events::Rule", "AWS::Lambda::LayerVersion"} <= types
    # Every parameter and condition survives, so a StackSet takes the same parameters.
    assert set(expanded["Parameters"]) == set(template["Parameters"])
    assert set(expanded["Conditions"]) == set(template["Conditions"])


@needs_sam_venv
def test_functions_read_their_code_from_the_packaged_artifacts(expanded) -> None:
    functions = [r for r in expanded["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    for function in functions:
        code = function["Properties"]["Code"]
        assert code["S3Bucket"].startswith("sagemaker-ict-guard-artifacts-placeholder")


@needs_sam_venv
def test_the_roles_the_optional_policies_attach_to_exist_after_expansion(expanded) -> None:
    for logical_id, resource in expanded["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            for role in resource["Properties"].get("Roles", []):
                assert expanded["Resources"][role["Ref"]]["Type"] == "AWS::IAM::Role", logical_id


@needs_sam_venv
def test_an_unpackaged_template_is_refused() -> None:
    result = subprocess.run(
        [str(SAM_PYTHON), str(REPO_ROOT / "scripts" / "expand_template.py"), str(REPO_ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode != 0 and "sam package" in result.stderr
