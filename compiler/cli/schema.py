"""`ndrc schema`: list, print or export the JSON Schemas (for editors and yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.exit_codes import handle_errors
from compiler.errors import UsageError
from compiler.validation.editor_schemas import editor_schemas, editor_settings
from compiler.validation.schemas import SchemaCatalog

SETTINGS_FILE = "yaml-schemas.json"


@click.command("schema")
@click.argument("name", required=False)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write self-contained editor schemas (one per file kind, templated values accepted) and the "
    "yaml.schemas mapping for yaml-language-server / VS Code into this folder.",
)
@handle_errors
def schema_command(name: str | None, export_dir: Path | None) -> None:
    """Without NAME, list the schemas; with NAME (e.g. jobs/fg_c_builder), print it."""
    catalog = SchemaCatalog.default()
    if export_dir is not None and name is not None:
        raise UsageError(
            "give a schema NAME to print or --export DIR to write every schema, not both "
            "(exported schemas reference each other)"
        )
    if export_dir is not None:
        exported = editor_schemas(catalog)
        try:
            for relative, schema in sorted(exported.items()):
                target = export_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            settings = editor_settings(export_dir.as_posix(), catalog)
            (export_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        except OSError as problem:
            raise UsageError(f"cannot write the schemas into {export_dir}: {problem.strerror or problem}") from None
        click.echo(
            f"exported {len(exported)} self-contained editor schema(s) to {export_dir}; "
            f"{export_dir / SETTINGS_FILE} holds the `yaml.schemas` mapping for .vscode/settings.json"
        )
        return
    if name is None:
        for schema_name, schema in sorted(catalog.schemas.items()):
            click.echo(f"{schema_name:45} {schema.get('title', '')}")
        return
    key = name.removesuffix(".schema.json")
    if not catalog.has(key) and catalog.has(f"jobs/{key}"):
        key = f"jobs/{key}"
    if not catalog.has(key):
        raise UsageError(f"no schema named {name!r}; run `ndrc schema` for the list")
    click.echo(json.dumps(catalog.schemas[key], indent=2, ensure_ascii=False))


COMMANDS = [schema_command]
