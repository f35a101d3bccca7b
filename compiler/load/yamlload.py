"""The one YAML loader: safe, positions kept for every node, hazards reported as diagnostics.

Scalars follow the YAML 1.2 core schema (so `1e-6` is a number and `no` is a string), numbers are kept
exact as `Number` (a Decimal that remembers its literal), duplicate keys are errors, and alias expansion is
bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.rule_catalog import (
    YAML_ALIAS_BOMB,
    YAML_AMBIGUOUS_BOOL,
    YAML_DUPLICATE_KEY,
    YAML_ENCODING,
    YAML_KEY,
    YAML_MERGE,
    YAML_MULTI_DOCUMENT,
    YAML_NUMBER,
    YAML_SYNTAX,
    YAML_TAB,
    YAML_TAG,
    YAML_TOO_DEEP,
    YAML_TOO_LARGE,
)

MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64  # nesting levels; real specs use fewer than 10

JsonPath = tuple[str | int, ...]

_PLAIN = "ndrc:plain"
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOLS = frozenset(
    w for base in ("yes", "no", "on", "off", "y", "n") for w in (base, base.capitalize(), base.upper())
)
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "!",
}


_KNOWN_TAGS = frozenset({*_STANDARD_TAGS, _PLAIN})
# Every number, octal/hex literal, infinity and NaN starts with one of these.
_NUMBER_STARTS = frozenset("0123456789+-.")


class Number(Decimal):
    """An exact number that remembers how it was written, so `1e-6` is emitted as `1e-6`."""

    literal: str

    def __new__(cls, literal: str) -> Number:
        number = super().__new__(cls, literal)
        number.literal = literal.lstrip("+").lower()
        return number

    def __reduce__(self) -> tuple[type[Number], tuple[str]]:
        return (Number, (self.literal,))


class _PositionedLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Composes nodes only; plain scalars get a marker tag so this module resolves them (YAML 1.2)."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # What BaseResolver.resolve answers when no path resolvers are registered (none are), without its
        # implicit-resolver scan: plain scalars are resolved by this module.
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


@dataclass
class LoadedYaml:
    """A document as plain Python data plus the source position of every value and mapping key."""

    path: str
    data: Any
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    # Where the loader put a string holding "{" (a template's mark), so rendering visits only those;
    # None: not recorded (every value is visited).
    templated: list[JsonPath] | None = None

    def locate(self, json_path: JsonPath, *, key: bool = False) -> Location:
        """The nearest known position of `json_path` (walking up to its parents if needed)."""
        if key and json_path in self.key_positions:
            return Location(self.path, *self.key_positions[json_path])
        probe = tuple(json_path)
        while probe:
            if probe in self.positions:
                return Location(self.path, *self.positions[probe])
            probe = probe[:-1]
        return Location(self.path, *self.positions.get((), (1, 1)))


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.templated: list[JsonPath] = []
        self.result = LoadedYaml(path, None, templated=self.templated)
        self.diagnostics: list[Diagnostic] = []
        self.expanded = 0
        self.building: set[int] = set()  # collections on the path being built

    def _location(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: yaml.Node, rule: str, message: str) -> None:
        self.diagnostics.append(error(self._location(node), rule, message))

    def build(self, node: yaml.Node, json_path: JsonPath) -> Any:
        # Runs once per node of every file: exact type tests and the common cases first.
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise _AliasBomb(json_path)
        mark = node.start_mark
        self.result.positions[json_path] = (mark.line + 1, mark.column + 1)
        kind = type(node)
        if kind is not yaml.ScalarNode and id(node) in self.building:  # an alias inside its own anchor
            raise _AliasBomb(json_path)
        if len(json_path) > MAX_DEPTH:
            raise _TooDeep(self._location(node))
        if node.tag not in _KNOWN_TAGS:
            self._problem(node, YAML_TAG, f"unsupported YAML tag {node.tag!r}; only standard tags are allowed")
            return None
        if isinstance(node, yaml.ScalarNode):
            value = self._plain(node, node.value) if node.tag == _PLAIN else self._scalar(node)
            if type(value) is str and "{" in value:
                self.templated.append(json_path)
            return value
        self.building.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, json_path)
            return [self.build(item, (*json_path, index)) for index, item in enumerate(node.value)]
        finally:
            self.building.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, json_path: JsonPath) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        key_positions = self.result.key_positions
        pairs = node.value
        for key_node, _ in pairs:
            if key_node.value == "<<":
                pairs = self._merged_pairs(node)
                break
        for key_node, value_node in pairs:
            if type(key_node) is not yaml.ScalarNode:
                self._problem(key_node, YAML_KEY, "mapping keys must be plain strings")
                continue
            key = key_node.value
            child = (*json_path, key)
            if key in mapping:
                first = key_positions[child]
                self._problem(
                    key_node,
                    YAML_DUPLICATE_KEY,
                    f"duplicate key {key!r} (first defined at line {first[0]}); YAML would silently keep "
                    "only the last one",
                )
                continue
            mark = key_node.start_mark
            key_positions[child] = (mark.line + 1, mark.column + 1)
            mapping[key] = self.build(value_node, child)
        return mapping

    def _merged_pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Expand YAML merge keys (`<<: *defaults`); explicit keys win over merged ones."""
        explicit = [(k, v) for k, v in node.value if not (isinstance(k, yaml.ScalarNode) and k.value == "<<")]
        merges = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "<<"]
        if not merges:
            return explicit
        explicit_keys = {k.value for k, _ in explicit if isinstance(k, yaml.ScalarNode)}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self._problem(source, YAML_MERGE, "a merge key (<<) must refer to a mapping")
                    continue
                for key_node, value_node in self._merged_pairs(source):
                    if key_node.value not in explicit_keys:
                        explicit_keys.add(key_node.value)
                        merged.append((key_node, value_node))
        return explicit + merged

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        text = node.value
        tag = node.tag
        if tag in ("tag:yaml.org,2002:str", "!"):
            return text
        if tag == _PLAIN:
            return self._plain(node, text)
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            self._problem(node, YAML_TAG, f"{text!r} is not a boolean (expected true or false)")
            return None
        value = self._number(text)
        if value is None:
            self._problem(node, YAML_NUMBER, f"{text!r} is not an exact number")
        return value

    def _plain(self, node: yaml.ScalarNode, text: str) -> Any:
        if text in _NULLS:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if text in _YAML11_BOOLS:
            self.diagnostics.append(
                warning(
                    self._location(node),
                    YAML_AMBIGUOUS_BOOL,
                    f"{text!r} is read as the string {text!r} (YAML 1.2); write true/false for a boolean "
                    "or quote it to keep the string",
                )
            )
            return text
        if text[:1] not in _NUMBER_STARTS:  # most plain scalars are words or URIs: no pattern can match
            return text
        if _SPECIAL_FLOAT.fullmatch(text):
            self._problem(node, YAML_NUMBER, f"{text!r}: infinity and NaN cannot be stored in DynamoDB")
            return None
        number = self._number(text)
        return text if number is None else number

    @staticmethod
    def _number(text: str) -> Number | None:
        if _OCT.fullmatch(text):
            return Number(str(int(text[2:], 8)))
        if _HEX.fullmatch(text):
            return Number(str(int(text[2:], 16)))
        if _INT.fullmatch(text) or _FLOAT.fullmatch(text):
            try:
                return Number(text)
            except InvalidOperation:
                return None
        return None


class _TooDeep(Exception):
    def __init__(self, location: Location) -> None:
        self.location = location


class _AliasBomb(Exception):
    def __init__(self, json_path: JsonPath) -> None:
        self.json_path = json_path


def _decode(path: str, raw: bytes) -> tuple[str | None, list[Diagnostic]]:
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            error(
                Location(path, 1, 1),
                YAML_TOO_LARGE,
                f"file is {len(raw):,} bytes; spec files may be at most {MAX_FILE_BYTES:,} bytes "
                "(DynamoDB items are limited to 400 KB)",
            )
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [error(Location(path, line, column), YAML_ENCODING, f"not UTF-8: byte 0x{raw[exc.start]:02x}")]
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return None, [error(Location(path, line, column), YAML_ENCODING, "file contains a NUL character")]
    return text, []


def _tab_indentation(path: str, text: str) -> list[Diagnostic]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip() and not line.lstrip().startswith("#"):
            problems.append(
                error(
                    Location(path, number, indent.index("\t") + 1),
                    YAML_TAB,
                    "tab character in indentation; YAML indentation must use spaces",
                )
            )
    return problems


def load_yaml(path: str, raw: bytes) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """Parse one YAML document. Returns (document or None, diagnostics); never raises on bad input."""
    text, problems = _decode(path, raw)
    if text is None:
        return None, problems
    if "\t" in text:
        problems = _tab_indentation(path, text)
        if problems:
            return None, problems
    try:
        nodes = list(yaml.compose_all(text, Loader=_PositionedLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [error(Location(path, line, column), YAML_SYNTAX, reason)]
    except yaml.YAMLError as exc:
        return None, [error(Location(path, 1, 1), YAML_SYNTAX, str(exc).splitlines()[0])]
    if not nodes:
        return LoadedYaml(path, None, {(): (1, 1)}), []
    if len(nodes) > 1:
        extra = nodes[1]
        return None, [
            error(
                Location(path, extra.start_mark.line + 1, extra.start_mark.column + 1),
                YAML_MULTI_DOCUMENT,
                "a spec file holds exactly one YAML document; found another one here",
            )
        ]
    builder = _Builder(path)
    try:
        builder.result.data = builder.build(nodes[0], ())
    except _AliasBomb as bomb:
        # Alias nodes carry their anchor's position; the deepest mapping key names where the use expands.
        keys = [i for i, part in enumerate(bomb.json_path) if isinstance(part, str)]
        where = bomb.json_path[: keys[-1] + 1] if keys else ()
        return None, [
            error(
                builder.result.locate(where, key=True),
                YAML_ALIAS_BOMB,
                f"anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} nodes",
            )
        ]
    except _TooDeep as deep:
        return None, [error(deep.location, YAML_TOO_DEEP, f"values nest more than {MAX_DEPTH} levels deep")]
    except RecursionError:
        return None, [error(Location(path, 1, 1), YAML_TOO_DEEP, "document nests too deeply")]
    return builder.result, builder.diagnostics
