"""HTTP transport to GIS ZhKKh: one shared httpx client, size-capped reads, httpx errors → GisError."""

from __future__ import annotations

import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass

import httpx
from lxml import etree

from app.gis_client.errors import GisError, GisFaultError, GisTimeoutError, GisTransportError
from app.gis_client.operations import NS_SOAP
from app.gis_client.wire.faults import body_element, parse_fault
from app.gis_client.wire.safexml import XmlParseError, parse_xml
from app.gis_client.wire.tls_errors import GisTlsError, tls_error
from app.settings import Settings

#: GIS answers maintenance windows with INT002029: always worth a (long) wait and a rebuilt resend.
MAINTENANCE_CODE = "INT002029"


class GisConnectError(GisTransportError):
    """The connection could not be opened: the request certainly never reached GIS."""


class GisConnectTimeout(GisTimeoutError):
    """Opening the connection timed out: the request certainly never reached GIS."""


class GisResponseTooLarge(GisTransportError):
    """The answer exceeded `gis.max_response_bytes`; reading was aborted."""


def not_delivered(exc: BaseException) -> bool:
    """Return whether a failed call certainly did not reach GIS (safe to resend even an import)."""
    # An HTTP status from GIS without an Ack means the message was not accepted either.
    return isinstance(
        exc, GisConnectError | GisConnectTimeout | GisHttpStatusError | GisFaultError | GisTlsError
    )


class GisHttpStatusError(GisTransportError):
    """HTTP error status without a SOAP Fault (502/503/504 from a proxy, 404 of a wrong path)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A raw HTTP answer: status, body bytes (complete, under the size cap) and the round trip time."""

    status: int
    content: bytes
    duration_ms: int


def build_http_client(settings: Settings, ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    """Build the process-wide httpx client for GIS (timeouts, Basic auth, Host override, the SSL context).

    The context (`app.gis_client.tls.build_ssl_context`, built once at start) is shared by everything that
    talks to GIS through this client: SOAP calls, the file store and probes. Without one: httpx's default TLS.
    """
    # Separate connect and read timeouts: connecting should fail fast, GIS answers can take minutes.
    timeout = httpx.Timeout(
        connect=settings.gis.connect_timeout,
        read=settings.gis.read_timeout,
        write=settings.gis.read_timeout,
        pool=settings.gis.connect_timeout,
    )
    auth: httpx.BasicAuth | None = None
    if settings.gis.basic_user:
        password = settings.gis.basic_password.get_secret_value() if settings.gis.basic_password else ""
        auth = httpx.BasicAuth(settings.gis.basic_user, password)
    headers = {"User-Agent": "gisgw"}
    if settings.gis.host_header:
        # Behind a stunnel sidecar the app speaks plain HTTP to localhost but GIS routes by its own Host.
        headers["Host"] = settings.gis.host_header
    return httpx.AsyncClient(
        base_url=settings.gis.base_url,
        verify=ssl_context if ssl_context is not None else True,
        timeout=timeout,
        auth=auth,
        headers=headers,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        follow_redirects=False,
    )


class Transport:
    """POSTs SOAP messages to GIS over the shared client; never lets httpx or lxml exceptions escape."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_response_bytes: int,
        retryable_codes: Collection[str] = (),
    ) -> None:
        self.client = client
        self.max_response_bytes = max_response_bytes
        self.retryable_codes = frozenset(retryable_codes) | {MAINTENANCE_CODE}

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient | None = None) -> Transport:
        """Build a transport (and its client unless given) from settings."""
        return cls(
            client or build_http_client(settings),
            max_response_bytes=settings.gis.max_response_bytes,
            retryable_codes=settings.gis.retryable_codes,
        )

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self.client.aclose()

    async def post(self, path: str, soap_action: str, data: bytes) -> HttpReply:
        """POST one SOAP message and read the whole answer (capped); raise only GisError subclasses."""
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": soap_action}
        started = time.perf_counter()
        try:
            async with self.client.stream("POST", path, content=data, headers=headers) as response:
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise GisResponseTooLarge(
                        f"GIS answer of {declared} bytes exceeds the {self.max_response_bytes}-byte limit"
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        # Stop reading (closing the stream drops the connection) instead of buffering it all.
                        raise GisResponseTooLarge(
                            f"GIS answer exceeds the {self.max_response_bytes}-byte limit; reading aborted"
                        )
                    chunks.append(chunk)
                status = response.status_code
        except httpx.HTTPError as exc:
            raise _transport_error(exc, path) from None
        return HttpReply(status, b"".join(chunks), int((time.perf_counter() - started) * 1000))

    def interpret(self, reply: HttpReply) -> etree._Element:
        """Parse an answer into its envelope; raise GisFaultError for a SOAP Fault, transport errors else."""
        document: etree._Element | None = None
        parse_error: XmlParseError | None = None
        if reply.content:
            try:
                document = parse_xml(reply.content, max_bytes=self.max_response_bytes)
            except XmlParseError as exc:
                parse_error = exc
        if document is not None and document.tag == f"{{{NS_SOAP}}}Envelope":
            body = body_element(document)
            if body.tag == f"{{{NS_SOAP}}}Fault":
                # GIS sends Faults with HTTP 500 (and 400 for schema errors); any status carries them.
                raise parse_fault(body, self.retryable_codes)
        if reply.status >= 400:
            raise GisHttpStatusError(reply.status, f"GIS answered HTTP {reply.status} without a SOAP Fault")
        if parse_error is not None:
            raise parse_error
        if document is None:
            raise GisTransportError(f"GIS answered HTTP {reply.status} with an empty body")
        return document

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        """Send a small non-SOAP request (file store, probes); raise only GisError subclasses."""
        try:
            response = await self.client.request(method, path, headers=headers, content=content)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, path) from None
        if len(response.content) > self.max_response_bytes:
            raise GisResponseTooLarge(f"GIS answer exceeds the {self.max_response_bytes}-byte limit")
        return response

    async def call(self, path: str, soap_action: str, data: bytes) -> etree._Element:
        """POST and interpret in one step (callers that do not journal the raw answer)."""
        return self.interpret(await self.post(path, soap_action, data))


def _transport_error(exc: httpx.HTTPError, path: str) -> GisError:
    """Map an httpx failure to the GisError the retry policy understands (never leak httpx upward)."""
    name = type(exc).__name__
    handshake = tls_error(exc)
    if handshake is not None:
        return handshake
    if isinstance(exc, httpx.ConnectTimeout):
        return GisConnectTimeout(f"connecting to GIS timed out ({path})")
    if isinstance(exc, httpx.TimeoutException):
        return GisTimeoutError(f"GIS did not answer in time ({name}, {path})")
    if isinstance(exc, httpx.ConnectError):
        return GisConnectError(f"cannot connect to GIS ({name}, {path})")
    # RemoteProtocolError (dropped connection), ReadError, WriteError, proxy errors...
    return GisTransportError(f"HTTP exchange with GIS failed ({name}, {path})")
