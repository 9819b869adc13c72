"""Write the templates the security scanners read: template.yaml and its expansion without the SAM
transform (what a StackSet deploys), once per parameter set, so that every condition of the
template is taken both ways and every conditional resource is scanned.

checkov resolves a template's conditions with the parameters' defaults and leaves out the
resources whose condition is false (with the defaults alone it never sees the trail bucket, the
chat topic or the Security Hub policy); cfn-lint reasons over conditions itself but reads each
file as it is. Each variant here is template.yaml with other parameter defaults, written as it
is (SAM) and expanded by the AWS SAM translator (scripts/expand_template.py, placeholder code
URIs). The script fails when a condition is not taken both ways by the variants, so that a new
condition cannot go unscanned.

Runs with the SAM CLI's virtual environment (.venv-sam), which has the translator:

    .venv-sam/bin/python scripts/scan_variants.py OUT_DIR
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expand_template

ROOT = Path(__file__).resolve().parent.parent

# Parameter defaults per variant (the others keep template.yaml's), shared with the template
# tests. Together they take every condition both ways; `main` checks that.
VARIANTS: dict[str, dict[str, str]] = json.loads((ROOT / "scripts" / "scan-variants.json").read_text(encoding="utf-8"))[
    "variants"
]


def condition_values(template: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, bool]:
    """The template's conditions for these parameter values (the functions conditions may use)."""
    conditions = template.get("Conditions") or {}
    parameters = template.get("Parameters") or {}

    def value(name: str) -> Any:
        definition = parameters[name]
        raw = defaults.get(name, definition.get("Default", ""))
        if definition.get("Type") == "CommaDelimitedList":
            return [item for item in str(raw).split(",") if item]
        return str(raw)

    def evaluate(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            return value(argument)
        if function == "Condition":
            return evaluate(conditions[argument])
        if function == "Fn::Equals":
            return str(evaluate(argument[0])) == str(evaluate(argument[1]))
        if function == "Fn::Not":
            return not evaluate(argument[0])
        if function == "Fn::And":
            return all(evaluate(a) for a in argument)
        if function == "Fn::Or":
            return any(evaluate(a) for a in argument)
        if function == "Fn::Join":
            return argument[0].join(str(v) for v in evaluate(argument[1]))
        raise SystemExit(f"scan_variants: cannot evaluate {function} in a condition")

    return {name: bool(evaluate(body)) for name, body in conditions.items()}


def with_defaults(template: dict[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    variant = copy.deepcopy(template)
    for name, default in defaults.items():
        if name not in variant["Parameters"]:
            raise SystemExit(f"scan_variants: template.yaml has no parameter {name}")
        variant["Parameters"][name]["Default"] = default
    return variant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for template-<variant>.json and expanded-<variant>.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))

    taken: dict[str, set[bool]] = {name: set() for name in template.get("Conditions") or {}}
    args.out.mkdir(parents=True, exist_ok=True)
    for name, defaults in VARIANTS.items():
        variant = with_defaults(template, defaults)
        for condition, value in condition_values(variant, {}).items():
            taken[condition].add(value)
        (args.out / f"template-{name}.json").write_text(json.dumps(variant, indent=1) + "\n", encoding="utf-8")
        expanded = expand_template.expand(expand_template.with_placeholder_uris(copy.deepcopy(variant)))
        (args.out / f"expanded-{name}.json").write_text(json.dumps(expanded, indent=1) + "\n", encoding="utf-8")
    one_way = sorted(name for name, values in taken.items() if values != {True, False})
    if one_way:
        raise SystemExit(f"scan_variants: conditions not taken both ways by the variants: {one_way}")
    print(f"scan_variants: {len(VARIANTS)} variants, {len(taken)} conditions each taken both ways", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
