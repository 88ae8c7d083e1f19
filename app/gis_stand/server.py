"""Run the stand with uvicorn in the current event loop (embedded in the gateway, or in tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the host process (the gateway, a test runner)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no handlers: the host's own shutdown stops this server."""
        yield


class TlsConfig(uvicorn.Config):
    """uvicorn's config serving a ready SSL context (uvicorn builds only plain contexts from files)."""

    def __init__(self, app: FastAPI, *, ssl_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.ssl_context = ssl_context

    def load(self) -> None:
        """Load as uvicorn does (no certificate files given, so no context of its own), then set ours."""
        super().load()
        if self.ssl_context is not None:
            self.ssl = self.ssl_context


def stand_config(app: FastAPI, host: str, port: int, **kwargs: Any) -> TlsConfig:
    """Return the uvicorn config of a stand app, with its GOST TLS context when it has one."""
    runtime = getattr(app.state, "stand", None)
    tls = getattr(runtime, "tls", None)
    # A long keep-alive: server and clients often share one event loop here (embedded stand, e2e tests), and
    # after a CPU-heavy stretch uvicorn's 5 s default can close a connection just as a client reuses it
    # ("Server disconnected without sending a response").
    options: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "timeout_keep_alive": 75,
        **kwargs,
    }
    return TlsConfig(
        app, ssl_context=tls.context if tls is not None else None, host=host, port=port, **options
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[EmbeddedServer]:
    """Serve `app` over real HTTP on host:port until the block exits."""
    config = stand_config(app, host, port)
    scheme = "https" if config.ssl_context is not None else "http"
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name=f"gis-stand:{port}")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the startup error (port in use, bad database)
                raise RuntimeError("the GIS stand stopped during startup")
            await asyncio.sleep(0.02)
        log.info("GIS stand listening on %s://%s:%d", scheme, host, port)
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
