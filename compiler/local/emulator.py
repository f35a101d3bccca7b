"""The embedded AWS emulator: a moto server on 127.0.0.1 with Step Functions execution enabled.

Run as `python -m compiler.local.emulator --port N [--workspace DIR --token T]`. Used by `ndrc local up`, the test
fixtures and `.ci/run`. `GET /ndrc-emulator/identity` answers `{"ndrc_emulator": 1, "workspace", "token",
"pid", "port"}`, so ndrc can tell its own workspace's emulator from another checkout's. A port already in use
ends the process at once with exit code 3 and one line saying so.
moto's Step Functions interpreter evaluates JSONata only through a module-level hook; when the
`jsonata-python` package is installed it is bound there, so JSONata state machines execute too.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
JSONATA_TRACE_ENV = "NDRC_JSONATA_TRACE"
IDENTITY_PATH = "/ndrc-emulator/identity"
SLOW_ANSWER_SECONDS = 15.0  # how long a listener that accepted a connection may take to say what it is
PREWARM_PATH = "/ndrc-emulator/prewarm"  # POST {"code": "s3://<artifacts>/runtime/<sha256>/"}
PORT_IN_USE_EXIT = 3


def _bind_jsonata() -> bool:
    """Bind a JSONata evaluator into moto's interpreter (moto pinned: the hook is internal)."""
    try:
        import jsonata
        from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
    except ImportError:
        return False
    if not hasattr(moto_jsonata, "_eval_jsonata"):
        raise RuntimeError("this moto version has no _eval_jsonata hook; pin moto as pyproject.toml says")

    # Test mode: every expression the interpreter evaluates is appended to this file (JSON lines), so the
    # tests can evaluate the same corpus with the reference engine (jsonata-js) and compare.
    trace = os.environ.get(JSONATA_TRACE_ENV)

    def evaluate(expression: str) -> Any:
        if trace:
            with open(trace, "a", encoding="utf-8") as out:
                out.write(json.dumps(expression) + "\n")
        return jsonata.Jsonata(expression).evaluate(None)

    moto_jsonata._eval_jsonata = evaluate
    return True


def enable_state_machine_execution() -> None:
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def _answer(start_response: Any, status: str, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def with_identity(app: Any, identity: dict[str, Any], prewarm: Callable[[str], None] | None = None) -> Any:
    """WSGI middleware answering IDENTITY_PATH with this emulator's identity and, when it runs pipelines,
    PREWARM_PATH (start the warm workers of a runtime bundle now; answered at once, 202); everything else
    goes to moto."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO")
        if path == IDENTITY_PATH:
            return _answer(start_response, "200 OK", identity)
        if path == PREWARM_PATH and environ.get("REQUEST_METHOD") == "POST":
            if prewarm is None:
                return _answer(start_response, "409 Conflict", {"error": "this emulator does not run pipelines"})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                code = json.loads(environ["wsgi.input"].read(length))["code"]
                if not isinstance(code, str) or not code.startswith("s3://"):
                    raise ValueError("code must be an s3:// URI")
            except (ValueError, KeyError, TypeError) as err:
                return _answer(start_response, "400 Bad Request", {"error": f"expected a JSON {{code: s3 URI}}: {err}"})
            prewarm(code)
            return _answer(start_response, "202 Accepted", {"prewarming": code})
        return app(environ, start_response)

    return application


@dataclass(frozen=True)
class PipelineOptions:
    """Running SageMaker pipeline executions (`--execute-pipelines`); off by default, so an emulator that
    only records executions (the shared test emulator) stays as fast as moto."""

    work_dir: str
    storage_root: str | None = None
    step_budget: int = 2
    warm: bool = True
    environment: tuple[tuple[str, str], ...] = ()

    def arguments(self) -> list[str]:
        words = ["--execute-pipelines", "--pipeline-work-dir", self.work_dir, "--step-budget", str(self.step_budget)]
        if self.storage_root:
            words += ["--storage-root", self.storage_root]
        if not self.warm:
            words.append("--cold-steps")
        for key, value in self.environment:
            words += ["--step-env", f"{key}={value}"]
        return words


def _start_pipelines(options: PipelineOptions, host: str, port: int) -> Any:
    from compiler.local import emulator_pipelines

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    executor = emulator_pipelines.build_executor(
        f"http://{host}:{port}",
        region,
        Path(options.work_dir),
        options.storage_root,
        options.step_budget,
        options.warm,
        dict(options.environment),
    )
    emulator_pipelines.install(executor)
    if options.storage_root:
        from compiler.local import emulator_storage

        emulator_storage.install(Path(options.storage_root))
    return executor


def serve(
    host: str,
    port: int,
    workspace: str | None = None,
    token: str | None = None,
    pipelines: PipelineOptions | None = None,
) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    if host not in (LOOPBACK, "localhost", "::1"):
        raise SystemExit("the emulator listens on loopback only")
    # moto's Step Functions interpreter sends service integrations (DynamoDB, SageMaker, ...) to
    # localhost:$MOTO_PORT; it must be this server's own port.
    os.environ["MOTO_PORT"] = str(port)
    enable_state_machine_execution()
    _bind_jsonata()
    from compiler.local.emulator_tuning import tune_moto

    tune_moto()
    executor = _start_pipelines(pipelines, host, port) if pipelines else None
    identity = {
        "ndrc_emulator": 1,
        "workspace": workspace,
        "token": token,
        "pid": os.getpid(),
        "port": port,
        "executes_pipelines": pipelines is not None,
    }
    app = with_identity(
        DomainDispatcherApplication(create_backend_app), identity, executor.prewarm if executor is not None else None
    )
    try:  # bound here, in the main thread, so a busy port ends the process at once
        server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as problem:
        print(
            json.dumps(
                {
                    "event": "emulator_failed",
                    "reason": f"port {port} on {host} is already in use"
                    if problem.errno in (errno.EADDRINUSE, errno.EACCES)
                    else str(problem),
                }
            ),
            flush=True,
        )
        raise SystemExit(PORT_IN_USE_EXIT) from None
    print(json.dumps({"event": "emulator_started", "endpoint": f"http://{host}:{port}"}), flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # `ndrc local down`: end the warm workers too
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if executor is not None:
            executor.close()
    # Executions still running in moto's Step Functions threads (e.g. a Wait state) would hold the exit;
    # their state is in memory and goes with the process.
    sys.stdout.flush()
    os._exit(0)


def identify(endpoint: str, timeout: float = 2.0, patience: float = SLOW_ANSWER_SECONDS) -> dict[str, Any] | None:
    """What answers at `endpoint`: an ndrc emulator's identity, `{"ndrc_emulator": 0}` for another AWS
    emulator (moto without ndrc's identity), `{"ndrc_emulator": -1}` for something that is no emulator, or
    None when nothing listens. A listener that accepts the connection but does not answer within `timeout`
    is asked once more, waiting up to `patience` seconds: an emulator busy starting a pipeline's Spark step
    on a loaded machine answers late, and a late answer is no evidence of another program."""
    try:
        with urllib.request.urlopen(f"{endpoint}{IDENTITY_PATH}", timeout=timeout) as reply:
            found = json.loads(reply.read())
        if isinstance(found, dict) and found.get("ndrc_emulator") == 1:
            return found
    except urllib.error.HTTPError:
        pass
    except ValueError:
        pass
    except OSError as problem:
        if not _accepts(endpoint, timeout):
            return None
        if _timed_out(problem) and patience > timeout:
            return identify(endpoint, patience, patience=0.0)
        return {"ndrc_emulator": -1}
    return {"ndrc_emulator": 0} if _is_moto(endpoint, timeout) else {"ndrc_emulator": -1}


def _timed_out(problem: OSError) -> bool:
    return isinstance(problem, TimeoutError) or isinstance(getattr(problem, "reason", None), TimeoutError)


def _accepts(endpoint: str, timeout: float) -> bool:
    parsed = urllib.parse.urlparse(endpoint)
    try:
        with socket.create_connection((parsed.hostname or LOOPBACK, parsed.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def _is_moto(endpoint: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout):
            return True
    except OSError:
        return False


def request_prewarm(endpoint: str, code_uri: str, timeout: float = 5.0) -> bool:
    """Ask the emulator at `endpoint` to start the warm workers of the runtime bundle at `code_uri` now (it
    answers at once; the workers start in the background). False if it does not run pipelines."""
    request = urllib.request.Request(
        f"{endpoint}{PREWARM_PATH}",
        data=json.dumps({"code": code_uri}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return bool(reply.status == 202)
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until_ready(endpoint: str, timeout_seconds: float = 30.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once the server answers; False after the timeout or as soon as `alive()` says it has gone."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@contextmanager
def running_emulator(
    cwd: Path | None = None, pipelines: PipelineOptions | None = None, environment: dict[str, str] | None = None
) -> Iterator[str]:
    """A throwaway emulator process on a free loopback port, stopped on exit; yields its endpoint."""
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compiler.local.emulator",
                "--port",
                str(port),
                *(pipelines.arguments() if pipelines else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=cwd,
            env=environment,
        )
        try:
            if not wait_until_ready(endpoint, alive=lambda: process.poll() is None):
                stderr.seek(0)
                said = stderr.read().decode("utf-8", "replace").strip() or "(nothing on stderr)"
                state = f"exited with code {process.returncode}" if process.poll() is not None else "did not answer"
                raise RuntimeError(f"the emulator at {endpoint} {state}; its stderr:\n{said}")
            yield endpoint
        finally:
            process.terminate()
            process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--workspace", default=None, help="The workspace this emulator serves (reported).")
    parser.add_argument("--token", default=None, help="An identity token (reported; the pid file keeps it).")
    parser.add_argument(
        "--execute-pipelines",
        action="store_true",
        help="Run SageMaker pipeline executions (their Processing steps) locally.",
    )
    parser.add_argument("--pipeline-work-dir", default=".ndrc/pipelines", help="Step logs and fetched inputs.")
    parser.add_argument("--storage-root", default=None, help="The local folder standing in for S3.")
    parser.add_argument("--step-budget", type=int, default=2, help="Steps running at once, all executions.")
    parser.add_argument("--cold-steps", action="store_true", help="A fresh process per step (no warm workers).")
    parser.add_argument(
        "--step-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="An environment variable for every step process (repeatable).",
    )
    args = parser.parse_args(argv)
    pipelines = None
    if args.execute_pipelines:
        pairs = tuple(tuple(item.split("=", 1)) for item in args.step_env if "=" in item)
        pipelines = PipelineOptions(
            str(Path(args.pipeline_work_dir).resolve()),
            str(Path(args.storage_root).resolve()) if args.storage_root else None,
            args.step_budget,
            not args.cold_steps,
            pairs,
        )  # type: ignore[arg-type]
    serve(args.host, args.port, args.workspace, args.token, pipelines)


if __name__ == "__main__":
    main(sys.argv[1:])
