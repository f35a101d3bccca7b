"""`ndrc compile` answered before click is imported, when the build record shows that nothing changed.

Only the plain form is recognised: `compile` followed by `--env`, `--workspace` and `--out`, each at most
once, as `--name value` or `--name=value`, with values that are not empty and do not start with `-`.
Anything else (another command, `--check`, `--help`, a repeated or unknown option), a build that is not
current, or anything unexpected is left to the click command, which parses the same options
(`compiler.cli.compile`; tests/compiler/cli/test_quick.py holds the two parsers to the same meaning).
"""

from __future__ import annotations

from pathlib import Path

OPTIONS = ("--env", "--workspace", "--out")


def compile_options(arguments: list[str]) -> dict[str, str] | None:
    """`--env`/`--workspace`/`--out` -> value for the plain form of `compile`, else None."""
    if not arguments or arguments[0] != "compile":
        return None
    found: dict[str, str] = {}
    rest = iter(arguments[1:])
    for argument in rest:
        name, equals, value = argument.partition("=")
        if name not in OPTIONS or name in found:
            return None
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        found[name] = value
    return found


def unchanged_message(out_dir: Path, count: int) -> str:
    return f"nothing changed since the last build: {out_dir} ({count} artifact(s), unchanged)"


def answer_unchanged_compile(arguments: list[str]) -> bool:
    """Print the "nothing changed" line and return True when `arguments` are a plain `compile` whose build is
    current; False (nothing printed) in every other case."""
    try:
        options = compile_options(arguments)
        if options is None:
            return False
        from compiler.compilation.uptodate import current_build

        workspace, out = options.get("--workspace"), options.get("--out")
        current = current_build(
            Path(workspace) if workspace else None, options.get("--env"), Path(out) if out else None
        )
        if current is None:
            return False
        print(unchanged_message(current.out_dir, current.artifacts), flush=True)
        return True
    except Exception:  # e.g. a path the terminal cannot encode: click's command decides and reports
        return False
