"""GOST TLS for the stand, like GIS: TLS 1.2 GOST suites and a client certificate registered with it.

The TLS layer trusts exactly the certificates registered for organisations (admin API, seed) and the
stand's own server certificate (its operator's: the admin API shares the port, as GIS's cabinet does not,
so an admin client presents that pair). A client certificate nobody registered fails the handshake, before
any HTTP. uvicorn does not pass the peer certificate to the app, so which organisation a registered
certificate belongs to is checked where GIS checks it too: against the signature of each message.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.gis_client.crypto.backend import generate_test_key
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.tls import gost_context
from app.gis_stand.models import Cert

log = logging.getLogger(__name__)


@dataclass
class StandTls:
    """The stand's TLS server context and the files of its certificate."""

    cert_path: Path
    key_path: Path
    context: ssl.SSLContext

    @classmethod
    def build(
        cls,
        backend: GostBackend,
        *,
        cert_path: Path | None = None,
        key_path: Path | None = None,
        host: str = "127.0.0.1",
    ) -> StandTls:
        """Load (or generate) the GOST server certificate and build the server context."""
        if cert_path is None or key_path is None:
            # ssl loads keys from files only: a private directory of this process holds the generated pair.
            folder = Path(tempfile.mkdtemp(prefix="gisgw-stand-tls-"))
            names = dict.fromkeys([host, "127.0.0.1", "localhost"])
            key_pem, cert_pem = generate_test_key(
                "/CN=localhost/O=GIS ZhKKh emulator", backend=backend, alt_names=list(names)
            )
            key_path, cert_path = folder / "tls-key.pem", folder / "tls-cert.pem"
            key_path.write_bytes(key_pem)
            key_path.chmod(0o600)
            cert_path.write_bytes(cert_pem)
        context = gost_context(server=True)
        context.load_cert_chain(certfile=str(cert_path), keyfile=str(key_path))
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(cert_path))  # the operator's own pair (admin API)
        return cls(cert_path, key_path, context)

    @property
    def cert_pem(self) -> bytes:
        """Return the server certificate (what a client pins as GISGW_GIS_TLS_CA_FILE)."""
        return self.cert_path.read_bytes()

    def trust(self, pem: str | bytes) -> None:
        """Accept this client certificate from the next handshake on (it was registered)."""
        text = pem.decode() if isinstance(pem, bytes) else pem
        try:
            self.context.load_verify_locations(cadata=text)
        except ssl.SSLError as exc:
            log.warning("stand TLS: a registered certificate cannot be used as a client certificate: %s", exc)

    async def trust_registered(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Trust every certificate already registered; return how many."""
        async with sessionmaker() as session:
            pems = list((await session.scalars(select(Cert.pem))).all())
        for pem in pems:
            self.trust(pem)
        return len(pems)

    def client_context(self) -> ssl.SSLContext:
        """Return a client context presenting the operator's pair and pinning the server (admin, tests)."""
        context = gost_context()
        context.load_verify_locations(cafile=str(self.cert_path))
        context.load_cert_chain(certfile=str(self.cert_path), keyfile=str(self.key_path))
        return context
