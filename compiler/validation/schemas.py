"""JSON Schema (draft 2020-12) validation with located diagnostics and "did you mean" hints."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import referencing
from referencing.jsonschema import DRAFT202012

from compiler.diagnostics import Diagnostic, error, warning
from compiler.load.resources import resource_dir
from compiler.load.yamlload import JsonPath, LoadedYaml
from compiler.rule_catalog import SCHEMA, SCHEMA_EITHER, SCHEMA_UNKNOWN_KEY, family_rule
from compiler.validation.fastcheck import FastValidator, compile_fast_validator, is_valid
from compiler.validation.suggest import closest

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = resource_dir("schemas")
SCHEMA_BASE_URI = "https://ndrc.dev/schemas/"
MESSAGE_KEYWORD = "x-ndrc-message"


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return isinstance(instance, int)


def _is_number(checker: Any, instance: Any) -> bool:
    return not isinstance(instance, bool) and isinstance(instance, int | float | Decimal)


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with exact (Decimal) numbers. Imported on first use: valid files never need jsonschema
    (the compiled fast path proves them valid), and importing it is a large part of a no-op recompile."""
    import jsonschema

    type_checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    )
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=type_checker)


def dotted(json_path: JsonPath) -> str:
    text = ""
    for part in json_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class SchemaCatalog:
    """All schemas of the `schemas/` folder, addressed by name (`workspace`, `routing`, `jobs/fg_c_builder`)."""

    def __init__(self, schema_dir: Path) -> None:
        self.schema_dir = schema_dir
        self.schemas: dict[str, dict[str, Any]] = {}
        for path in sorted(schema_dir.rglob("*.schema.json")):
            name = path.relative_to(schema_dir).as_posix().removesuffix(".schema.json")
            self.schemas[name] = json.loads(path.read_text(encoding="utf-8"))
        resources = [
            (schema.get("$id", SCHEMA_BASE_URI + name + ".schema.json"), DRAFT202012.create_resource(schema))
            for name, schema in self.schemas.items()
        ]
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
        self._validators: dict[str, Any] = {}
        self._fast: dict[str, FastValidator | None] = {}
        self._property_trees: dict[str, PropertyTree] = {}

    @staticmethod
    @cache
    def default() -> SchemaCatalog:
        return SchemaCatalog(SCHEMA_DIR)

    def warm(self) -> None:
        """Build every validator now (compiling the fast ones costs about 0.1 s per schema), e.g. before
        forking worker processes, which then inherit them instead of compiling them again each."""
        for name in self.schemas:
            self.validator(name)
            self.fast_validator(name)
            self.property_tree(name)

    def has(self, name: str) -> bool:
        return name in self.schemas

    def schema_id(self, name: str) -> str:
        return str(self.schemas[name].get("$id", SCHEMA_BASE_URI + name + ".schema.json"))

    def validator(self, name: str) -> Any:
        if name not in self._validators:
            self._validators[name] = _validator_class()(self.schemas[name], registry=self.registry)
        return self._validators[name]

    def fast_validator(self, name: str) -> FastValidator | None:
        if name not in self._fast:
            resolver = self.registry.resolver(base_uri=self.schema_id(name))
            self._fast[name] = compile_fast_validator(self.schemas[name], resolver)
        return self._fast[name]

    def property_tree(self, name: str) -> PropertyTree:
        if name not in self._property_trees:
            resolver = self.registry.resolver(base_uri=self.schema_id(name))
            self._property_trees[name] = PropertyTree.build(self.schemas[name], resolver)
        return self._property_trees[name]

    def validate(
        self,
        name: str,
        document: LoadedYaml,
        instance: Any = None,
        prefix: JsonPath = (),
        *,
        once: bool = False,
        plain: Any = None,
    ) -> list[Diagnostic]:
        """Validate `instance` (default: the whole document) found at `prefix` inside `document`.

        `once`: this schema checks one document per process (`ndrc.yaml`), so compiling its fast validator
        would cost more than running the full one. `plain`: the instance already converted by
        `fastcheck.plain_numbers` (a caller validating parts of one document converts it once)."""
        value = document.data if instance is None else instance
        problems = []
        fast = None if once else self.fast_validator(name)
        if fast is None or not is_valid(fast, value if plain is None else plain, converted=plain is not None):
            problems = [
                self._diagnostic(document, failure, prefix) for failure in self.validator(name).iter_errors(value)
            ]
        problems.extend(self.property_tree(name).near_misses(document, value, prefix))
        return problems

    def _diagnostic(self, document: LoadedYaml, failure: ValidationError, prefix: JsonPath) -> Diagnostic:
        json_path: JsonPath = (*prefix, *failure.absolute_path)
        location = document.locate(json_path)
        where = dotted(json_path)
        custom = failure.schema.get(MESSAGE_KEYWORD) if isinstance(failure.schema, dict) else None
        rule = family_rule(SCHEMA, str(failure.validator))
        if failure.validator in ("anyOf", "oneOf"):
            rule = SCHEMA_EITHER
        if custom:
            message = f"{where}: {custom}"
        elif failure.validator == "required":
            missing = failure.message.split("'")[1] if "'" in failure.message else failure.message
            message = f"{where}: missing required key {missing!r}"
            present = failure.instance if isinstance(failure.instance, dict) else {}
            misspelt = [str(key) for key in present if closest(str(key), [missing])]
            if misspelt:
                message += f"; found {misspelt[0]!r}: did you mean {missing!r}?"
        elif failure.validator in ("anyOf", "oneOf"):
            message = f"{where}: does not match any allowed shape ({_branch_hint(failure)})"
        else:
            message = f"{where}: {as_written(failure)}"
            description = failure.schema.get("description") if isinstance(failure.schema, dict) else None
            if failure.validator in ("pattern", "format") and description:
                message += f" (expected: {description})"
        return error(location, rule, message)


def _branch_hint(failure: ValidationError) -> str:
    reasons = sorted({as_written(context) for context in failure.context or []})
    return "; ".join(reasons[:3]) or as_written(failure)


def yaml_text(value: Any, limit: int = 80) -> str:
    """A value as YAML/JSON shows it (`42`, `1e-6`, `true`, `null`, `"text"`), not as Python would."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, Decimal | int):
        return str(getattr(value, "literal", value))
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        text = (
            "{"
            + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {yaml_text(v, limit)}" for k, v in value.items())
            + "}"
        )
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(yaml_text(v, limit) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_written(failure: ValidationError) -> str:
    """jsonschema's message with the Python repr of the offending value replaced by its YAML text."""
    shown = repr(failure.instance)
    return (
        failure.message.replace(shown, yaml_text(failure.instance), 1) if shown in failure.message else failure.message
    )


def _subschemas(schema: Any, resolver: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], Any]]:
    """The schema and every subschema it is combined with (allOf/anyOf/oneOf/if-then-else/$ref)."""
    if not isinstance(schema, dict) or depth > 20:
        return
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        yield from _subschemas(resolved.contents, resolved.resolver, depth + 1)
    yield schema, resolver
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(keyword, []):
            yield from _subschemas(branch, resolver, depth + 1)
    for keyword in ("then", "else"):
        if keyword in schema:
            yield from _subschemas(schema[keyword], resolver, depth + 1)


@dataclass
class PropertyTree:
    """The known keys at every level of a schema, references resolved once, for "did you mean" hints."""

    properties: dict[str, PropertyTree] = field(default_factory=dict)
    items: PropertyTree | None = None
    open_map: bool = False

    @classmethod
    def build(cls, schema: Any, resolver: Any, depth: int = 0) -> PropertyTree:
        tree = cls()
        if depth > 30:
            return tree
        children: dict[str, list[tuple[Any, Any]]] = {}
        item_schemas: list[tuple[Any, Any]] = []
        for part, part_resolver in _subschemas(schema, resolver):
            for key, child in part.get("properties", {}).items():
                children.setdefault(key, []).append((child, part_resolver))
            if isinstance(part.get("additionalProperties"), dict) or "patternProperties" in part:
                tree.open_map = True
            if isinstance(part.get("items"), dict):
                item_schemas.append((part["items"], part_resolver))
        for key, schemas in children.items():
            tree.properties[key] = cls.merge([cls.build(c, r, depth + 1) for c, r in schemas])
        if item_schemas:
            tree.items = cls.merge([cls.build(c, r, depth + 1) for c, r in item_schemas])
        return tree

    @classmethod
    def merge(cls, trees: list[PropertyTree]) -> PropertyTree:
        if len(trees) == 1:
            return trees[0]
        merged = cls(open_map=any(t.open_map for t in trees))
        grouped: dict[str, list[PropertyTree]] = {}
        for tree in trees:
            for key, child in tree.properties.items():
                grouped.setdefault(key, []).append(child)
        merged.properties = {key: cls.merge(children) for key, children in grouped.items()}
        item_trees = [t.items for t in trees if t.items is not None]
        merged.items = cls.merge(item_trees) if item_trees else None
        return merged

    @functools.cached_property
    def reports(self) -> bool:
        """Whether a value under this node could get a hint: it (or a node below it) lists known keys."""
        return bool(self.properties) or (self.items is not None and self.items.reports)

    def near_misses(self, document: LoadedYaml, value: Any, json_path: JsonPath) -> Iterator[Diagnostic]:
        # Runs on every valid file: descend only into containers under nodes that can report something.
        if isinstance(value, dict):
            closed = bool(self.properties) and not self.open_map
            for key, child_value in value.items():
                child = self.properties.get(key)
                if child is not None:
                    if child.reports and isinstance(child_value, dict | list):
                        yield from child.near_misses(document, child_value, (*json_path, key))
                elif closed:
                    suggestion = closest(key, self.properties)
                    if suggestion:
                        child_path = (*json_path, key)
                        yield warning(
                            document.locate(child_path, key=True),
                            SCHEMA_UNKNOWN_KEY,
                            f"{dotted(child_path)}: unknown key {key!r}; did you mean {suggestion!r}?",
                        )
        elif isinstance(value, list) and self.items is not None and self.items.reports:
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    yield from self.items.near_misses(document, item, (*json_path, index))
