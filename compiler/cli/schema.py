"""`ndrc schema`: list, print or export the JSON Schemas (for editors and yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.schemas import SchemaCatalog


@click.command("schema")
@click.argument("name", required=False)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write every schema into this folder (keeps the jobs/ layout so $refs resolve).",
)
def schema_command(name: str | None, export_dir: Path | None) -> None:
    """Without NAME, list the schemas; with NAME (e.g. jobs/fg_c_builder), print it."""
    catalog = SchemaCatalog.default()
    if export_dir is not None and name is not None:
        click.echo("ndrc: error: give a schema NAME to print or --export DIR to write every schema, not both "
                   "(exported schemas reference each other)", err=True)
        raise click.exceptions.Exit(2)
    if export_dir is not None:
        try:
            for schema_name, schema in sorted(catalog.schemas.items()):
                target = export_dir / f"{schema_name}.schema.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as problem:
            click.echo(f"ndrc: error: cannot write the schemas into {export_dir}: {problem.strerror or problem}",
                       err=True)
            raise click.exceptions.Exit(2) from None
        click.echo(f"exported {len(catalog.schemas)} schema(s) to {export_dir}")
        return
    if name is None:
        for schema_name, schema in sorted(catalog.schemas.items()):
            click.echo(f"{schema_name:45} {schema.get('title', '')}")
        return
    key = name.removesuffix(".schema.json")
    if not catalog.has(key) and catalog.has(f"jobs/{key}"):
        key = f"jobs/{key}"
    if not catalog.has(key):
        click.echo(f"ndrc: error: no schema named {name!r}; run `ndrc schema` for the list", err=True)
        raise click.exceptions.Exit(2)
    click.echo(json.dumps(catalog.schemas[key], indent=2, ensure_ascii=False))


COMMANDS = [schema_command]
