"""A compiled fast path for schema validation: most files are valid, so prove that cheaply first.

jsonschema gives every error with its location but walks the schema generically on every file.
fastjsonschema compiles a schema into Python code once; we feed it a self-contained draft-07 copy
(references inlined, `$ref` siblings kept through `allOf`) and only run the full validator when the fast
one finds a problem. Same verdicts, located errors, at a fraction of the cost on the common path.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import fastjsonschema

FastValidator = Callable[[Any], Any]
_DROPPED = ("$id", "$schema", "$defs", "definitions", "$comment")


def inline_references(schema: Any, resolver: Any, depth: int = 0) -> Any:
    """A copy of `schema` with every `$ref` replaced by its target (our schemas are not recursive)."""
    if depth > 50:
        raise ValueError("schema references nest too deeply (recursive schema?)")
    if isinstance(schema, list):
        return [inline_references(item, resolver, depth + 1) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: inline_references(value, resolver, depth + 1) for key, value in schema.items() if key not in _DROPPED}
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        target = inline_references(resolved.contents, resolved.resolver, depth + 1)
        del copy["$ref"]
        copy.setdefault("allOf", []).insert(0, target)
    return copy


def plain_numbers(value: Any) -> Any:
    """Decimals as int/float, the types fastjsonschema checks for (exact types first: this runs on every
    value of every file)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return {key: plain_numbers(child) for key, child in value.items()}
    if kind is list:
        return [plain_numbers(child) for child in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain_numbers(child) for key, child in value.items()}
    if isinstance(value, list):
        return [plain_numbers(child) for child in value]
    return value


def compile_fast_validator(schema: dict[str, Any], resolver: Any) -> FastValidator | None:
    """The compiled validator, or None when fastjsonschema cannot compile the schema (the full
    validator then runs on every file: slower, never wrong)."""
    inlined = inline_references(schema, resolver)
    inlined["$schema"] = "http://json-schema.org/draft-07/schema#"
    try:
        return fastjsonschema.compile(inlined, use_default=False, use_formats=False)  # type: ignore[no-any-return]
    except Exception:  # fastjsonschema raises several types (including re.error) for what it cannot handle
        return None


def is_valid(validator: FastValidator, value: Any, *, converted: bool = False) -> bool:
    try:
        validator(value if converted else plain_numbers(value))
    except fastjsonschema.JsonSchemaException:
        return False
    return True
