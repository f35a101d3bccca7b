"""What answers at an emulator's port: a slow emulator is still an emulator; a silent program is not one."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compiler.local.emulator import IDENTITY_PATH, identify

IDENTITY = {"ndrc_emulator": 1, "workspace": "/ws", "pid": 1, "token": "t"}


class _SlowEmulator(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:
        if self.path != IDENTITY_PATH:
            self.send_error(404)
            return
        time.sleep(self.delay)
        body = json.dumps(IDENTITY).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_emulator() -> Iterator[str]:
    _SlowEmulator.delay = 0.6
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowEmulator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """Accepts connections and never says anything."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_an_emulator_that_answers_late_is_still_the_emulator(slow_emulator: str) -> None:
    assert identify(slow_emulator, timeout=0.2, patience=5.0) == IDENTITY


def test_without_patience_a_late_answer_is_not_taken(slow_emulator: str) -> None:
    assert identify(slow_emulator, timeout=0.2, patience=0.0) == {"ndrc_emulator": -1}


def test_a_listener_that_never_answers_is_no_emulator(silent_listener: str) -> None:
    started = time.monotonic()
    assert identify(silent_listener, timeout=0.2, patience=0.5) == {"ndrc_emulator": -1}
    assert time.monotonic() - started < 5


def test_nothing_listening_is_none() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert identify(f"http://127.0.0.1:{port}", timeout=0.2) is None
