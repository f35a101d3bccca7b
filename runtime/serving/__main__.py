"""`python -m runtime.serving serve`: the model server as a SageMaker container runs it.

SageMaker starts the image with the argument `serve`, mounts the model at /opt/ml/model (the unpacked
model.tar.gz) and sends traffic to port 8080: those are the defaults here.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from runtime.errors import RuntimeJobError
from runtime.serving.faults import FaultPlan
from runtime.serving.loading import DEFAULT_LOADER, load_model, resolve_loader
from runtime.serving.server import SAGEMAKER_MAX_PAYLOAD_BYTES, ModelServer, ServerConfig


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.serving")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--model", default="/opt/ml/model", help="extracted model folder or model.tar.gz")
    parser.add_argument("--host", default="0.0.0.0")  # the container listens on every interface
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--loader", default=DEFAULT_LOADER, help="module:function returning a ScoringModel")
    parser.add_argument(
        "--endpoint-name",
        action="append",
        default=[],
        help="an endpoint name boto3's InvokeEndpoint route answers for (repeatable; default: any)",
    )
    args = parser.parse_args(argv)
    try:
        model, workdir = load_model(Path(args.model), resolve_loader(args.loader))
    except RuntimeJobError as err:
        print(f"model server: {err}", file=sys.stderr)
        return 2
    config = ServerConfig(SAGEMAKER_MAX_PAYLOAD_BYTES, FaultPlan(), frozenset(args.endpoint_name) or None)
    server = ModelServer(model, config, host=args.host, port=args.port)
    print(f"serving model {model.model_version} on {server.url}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `ndrc local down` and SageMaker stop with SIGTERM: clean up
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
