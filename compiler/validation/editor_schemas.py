"""Schemas for editors (yaml-language-server, VS Code): one self-contained file-level schema per file kind.

ndrc validates a spec file in two steps (the item envelope, then the job's `spec` payload) with `$ref`s
between schema files under `https://ndrc.dev/...` ids. An editor checks one schema per file and resolves
`$ref`s itself, so the export is different: per job, the envelope with that job's payload schema in place
(`spec`, and `parameters` for project_parameters), every reference inlined, no `$id`, draft-07 (what
yaml-language-server implements fully), and every constrained string also accepting a Jinja2 expression
(`s3://{{ env.buckets.features }}/...` is checked after rendering, by `ndrc validate`).
"""

from __future__ import annotations

import copy
from typing import Any

from compiler.validation.fastcheck import inline_references
from compiler.validation.schemas import SchemaCatalog
from runtime.contract import PROJECT_PARAMETERS_JOB

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
TEMPLATED = {"type": "string", "pattern": r"\{\{.*\}\}|\{%.*%\}", "description": "a Jinja2 expression"}
_STRING_CONSTRAINTS = ("pattern", "format", "enum", "const", "minLength", "maxLength")
_ANNOTATIONS = ("title", "description", "default", "examples")


def _inlined(catalog: SchemaCatalog, name: str) -> dict[str, Any]:
    resolver = catalog.registry.resolver(base_uri=catalog.schema_id(name))
    inlined: dict[str, Any] = inline_references(catalog.schemas[name], resolver)
    return inlined


def accept_templates(schema: Any) -> Any:
    """A copy where every string constraint also accepts a templated string."""
    if isinstance(schema, list):
        return [accept_templates(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copied = {
        key: accept_templates(value) if key not in ("enum", "const", "examples", "default") else value
        for key, value in schema.items()
    }
    if copied.get("type") == "string" and any(key in copied for key in _STRING_CONSTRAINTS):
        outer = {key: copied.pop(key) for key in _ANNOTATIONS if key in copied}
        return {**outer, "anyOf": [copied, TEMPLATED]}
    return copied


def _document(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": DRAFT_07, **{k: v for k, v in schema.items() if k != "$schema"}, "title": title}


def editor_schemas(catalog: SchemaCatalog) -> dict[str, dict[str, Any]]:
    """Relative export path -> schema, for every file kind of a workspace."""
    envelope = _inlined(catalog, "item")
    exported: dict[str, dict[str, Any]] = {}
    for name in sorted(catalog.schemas):
        if not name.startswith("jobs/"):
            continue
        job = name.removeprefix("jobs/")
        schema = copy.deepcopy(envelope)
        payload = _inlined(catalog, name)
        schema["properties"]["spec"] = payload
        if job == PROJECT_PARAMETERS_JOB:
            schema["properties"]["parameters"] = payload
        exported[f"{name}.schema.json"] = _document(accept_templates(schema), f"{job} spec file")
    exported["routing.schema.json"] = _document(accept_templates(_inlined(catalog, "routing")), "routing.yaml")
    exported["workspace.schema.json"] = _document(_inlined(catalog, "workspace"), "ndrc.yaml")
    return exported


def editor_settings(export_dir: str, catalog: SchemaCatalog) -> dict[str, Any]:
    """The `yaml.schemas` mapping (VS Code / yaml-language-server settings) for exported schemas."""
    mapping: dict[str, Any] = {}
    for name in sorted(catalog.schemas):
        if name.startswith("jobs/"):
            job = name.removeprefix("jobs/")
            # `#` is `%23` in the file URIs the language server matches against: accept both spellings.
            mapping[f"{export_dir}/{name}.schema.json"] = [f"specs/*/{job}.yaml", f"specs/*/{job}{{#,%23}}*.yaml"]
    mapping[f"{export_dir}/routing.schema.json"] = ["specs/*/routing.yaml"]
    mapping[f"{export_dir}/workspace.schema.json"] = ["ndrc.yaml"]
    return {"yaml.schemas": mapping}
