"""The sandbox over HTTP: a stdlib ThreadingHTTPServer on a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from orshot_gitops.sandbox.app import App, Reply
from orshot_gitops.sandbox.config import SandboxConfig
from orshot_gitops.sandbox.store import Store

MAX_BODY_BYTES = 1 << 20


class _HTTPServer(ThreadingHTTPServer):
    """Keeps track of open connections so `stop()` can close idle keep-alive ones: otherwise a
    client's pooled connection would keep talking to a server that has been stopped."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx clients expect
    server_version = "OrshotSandbox/1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the test output stays readable, and no header is ever written anywhere."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(Reply(413, {"error": "Request body too large"}))
            return
        body = self.rfile.read(length) if length else b""
        reply = self.server.app.handle(
            self.command, self.path, self.headers.get("Authorization"), body
        )
        if reply.drop:
            # The work is done; the client never hears about it.
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.encoded()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class SandboxServer:
    """A local Orshot-compatible API with a persistent Posts Log.

    `clock` (seconds since the epoch) drives schedules, processing delays and the rate-limit
    window, so tests can move time without sleeping. Use `start()`/`stop()` or `with`.
    """

    def __init__(
        self,
        data_dir: Path,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.config = config if config is not None else SandboxConfig.default()
        self.host = host
        self.port = port
        self.clock = clock
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None

    @property
    def api_key(self) -> str:
        """The first configured key: what a client should send."""
        return self.config.api_keys[0]

    @property
    def base_url(self) -> str:
        """The origin, e.g. `http://127.0.0.1:8787`; API paths are under `/v1`."""
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not started")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def app(self) -> App:
        """The request handling behind the socket (statistics, workspace)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not started")
        return self._httpd.app

    def start(self) -> SandboxServer:
        """Open the store, bind the port (0 picks a free one) and serve in the background."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox server is already started")
        store = Store(self.data_dir)
        try:
            self._httpd = _HTTPServer((self.host, self.port), App(self.config, store, self.clock))
        except OSError:
            store.close()
            raise
        self._store = store
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"orshot-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the store. Safe to call twice."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Take the lock so no request thread is mid-write when the database closes.
        with self._httpd.app.lock:
            if self._store is not None:
                self._store.close()
        self._httpd = None
        self._thread = None
        self._store = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
