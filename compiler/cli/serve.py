"""`ndrc local serve --model PATH`: the local SageMaker-compatible model server, in the foreground.

It serves `GET /ping`, `POST /invocations` and boto3's InvokeEndpoint route
(`POST /endpoints/<name>/invocations`), so `inference_predictions` runs against it with the real boto3
client: export `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=<url>` (printed on start). Registered under `ndrc local`.
"""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.exit_codes import handle_errors
from compiler.cli.local import local_group
from compiler.errors import UsageError
from runtime.errors import RuntimeJobError
from runtime.serving.faults import FaultPlan
from runtime.serving.loading import DEFAULT_LOADER, load_model, resolve_loader
from runtime.serving.server import SAGEMAKER_MAX_PAYLOAD_BYTES, ModelServer, ServerConfig


@local_group.command("serve")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(path_type=Path),
    help="model.tar.gz (if_training's artifact) or its extracted folder",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0: any free port")
@click.option("--loader", default=DEFAULT_LOADER, show_default=True, help="module:function returning a ScoringModel")
@click.option(
    "--endpoint-name",
    "endpoint_names",
    multiple=True,
    help="endpoint names the InvokeEndpoint route answers for (default: any)",
)
@click.option(
    "--max-payload-mb",
    default=SAGEMAKER_MAX_PAYLOAD_BYTES / 1024 / 1024,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="larger request bodies get HTTP 413",
)
@click.option("--faults", default="", help="fault injection, e.g. throttle=0.1,error=0.05,slow_rate=0.1,slow=2,seed=7")
@handle_errors
def serve_command(
    model_path: Path,
    host: str,
    port: int,
    loader: str,
    endpoint_names: tuple[str, ...],
    max_payload_mb: float,
    faults: str,
) -> None:
    """Serve a model like a SageMaker endpoint until Ctrl-C."""
    try:
        plan = FaultPlan.parse(faults)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--faults") from None
    try:
        model, workdir = load_model(model_path, resolve_loader(loader))
    except RuntimeJobError as err:
        raise UsageError(str(err)) from None
    config = ServerConfig(int(max_payload_mb * 1024 * 1024), plan, frozenset(endpoint_names) or None)
    try:
        server = ModelServer(model, config, host=host, port=port)
    except OSError as err:
        workdir.cleanup()
        raise UsageError(f"cannot listen on {host}:{port} ({err.strerror})") from None
    click.echo(f"serving model {model.model_version} ({len(model.feature_names)} features) on {server.url}")
    click.echo(f"  export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={server.url}   # boto3 invoke_endpoint goes here")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        workdir.cleanup()


COMMANDS: list[click.Command] = []  # `serve` hangs under `ndrc local` (imported for that side effect)
