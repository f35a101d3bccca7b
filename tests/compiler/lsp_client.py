"""A minimal Language Server Protocol client over stdio: open files, collect the diagnostics published."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class LanguageServer:
    def __init__(self, command: list[str], root: Path) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self.settings: dict[str, Any] = {}
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request(
            "initialize",
            {"processId": None, "rootUri": root.as_uri(), "capabilities": {"textDocument": {"publishDiagnostics": {}}}},
        )
        self.notify("initialized", {})

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            self.messages.put(json.loads(stream.read(length)))

    def configure(self, settings: dict[str, Any]) -> None:
        """Settings by section (`{"yaml": {...}}`), handed out when the server pulls them."""
        self.settings = settings
        self.notify("workspace/didChangeConfiguration", {"settings": settings})

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        self._next_id += 1
        self._send({"id": self._next_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._take(deadline - time.monotonic())
            if message is not None and message.get("id") == self._next_id and "method" not in message:
                return message.get("result")
        raise TimeoutError(f"no answer to {method}")

    def _take(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = self.messages.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            return None
        if "method" in message and "id" in message:  # a request of the server: answer it plainly
            result: Any = None
            if message["method"] == "workspace/configuration":  # the server pulls its settings by section
                result = [self.settings.get(item.get("section", "")) for item in message["params"]["items"]]
            self._send({"id": message["id"], "result": result})
        elif message.get("method") == "textDocument/publishDiagnostics":
            self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
        return message

    def settle(self, uris: set[str], quiet: float = 3.0, timeout: float = 120.0) -> None:
        """Wait until every uri has diagnostics published and nothing arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            if self._take(0.2) is not None:
                last = time.monotonic()
            elif uris <= set(self.diagnostics) and time.monotonic() - last > quiet:
                return
        raise TimeoutError(f"no diagnostics for {sorted(uris - set(self.diagnostics))}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
