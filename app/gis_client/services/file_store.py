"""The GIS file store (REST, not SOAP): uploads in one PUT or in 5 MiB parts, gis-protocol.md §12."""

from __future__ import annotations

import base64
import hashlib
import logging
import math

import httpx

from app.gis_client.errors import GisFaultError, GisProtocolError
from app.gis_client.retry import RetryPolicy
from app.gis_client.wire.transport import MAINTENANCE_CODE, GisHttpStatusError, Transport

log = logging.getLogger(__name__)

FILE_STORE_PATH = "/ext-bus-file-store-service/rest/{context}"
#: gis-protocol.md §12: files up to one part go in a single PUT; larger ones in parts of exactly this size.
PART_SIZE = 5_242_880
_FILENAME_FORBIDDEN = set('<>?:\\|*%"')


class GisFileStoreError(GisFaultError):
    """The file store answered `X-Upload-Error` (FieldValidation, FileVirusInfection, HashConflict...)."""


def encode_filename(filename: str) -> str:
    """Return X-Upload-Filename: forbidden characters stripped, RFC 2047 UTF-8 base64 encoded-word."""
    cleaned = "".join(c for c in filename if c not in _FILENAME_FORBIDDEN).strip() or "file"
    # Hand-built because email.header folds long names into several encoded-words separated by CRLF+space,
    # which is not a valid single HTTP header value.
    return "=?UTF-8?B?" + base64.b64encode(cleaned.encode("utf-8")).decode("ascii") + "?="


def content_md5(data: bytes) -> str:
    """Return the Content-MD5 header value (base64 of the MD5 digest, RFC 1864)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


class FileStore:
    """Uploads to the file store over the shared transport, with the GIS retry policy."""

    def __init__(self, transport: Transport, policy: RetryPolicy) -> None:
        self.transport = transport
        self.policy = policy

    async def _file_request(
        self, method: str, path: str, headers: dict[str, str], content: bytes | None = None
    ) -> httpx.Response:
        """One file-store call with the retry policy (transport errors, 5xx, INT002029)."""
        async for attempt in self.policy.retrying():
            with attempt:
                response = await self.transport.request(method, path, headers=headers, content=content)
                error = response.headers.get("X-Upload-Error")
                if error:
                    code = error.strip()
                    raise GisFileStoreError(
                        code, f"file store refused: {code}", retryable=code == MAINTENANCE_CODE
                    )
                if response.status_code >= 400:
                    raise GisHttpStatusError(
                        response.status_code, f"file store answered HTTP {response.status_code}"
                    )
                return response
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    async def upload(self, org_ppa_guid: str, context: str, filename: str, data: bytes) -> str:
        """Upload a file on behalf of an organisation (its orgPPAGUID); return its AttachmentGUID."""
        base = FILE_STORE_PATH.format(context=context)
        common = {
            "X-Upload-OrgPPAGUID": org_ppa_guid,
            "X-Upload-Filename": encode_filename(filename),
        }
        if len(data) <= PART_SIZE:
            response = await self._file_request(
                "PUT", base, {**common, "Content-MD5": content_md5(data)}, data
            )
            return self._upload_id(response)
        parts = math.ceil(len(data) / PART_SIZE)
        opened = await self._file_request(
            "POST",
            base + "/?upload",
            {**common, "X-Upload-Length": str(len(data)), "X-Upload-Part-Count": str(parts)},
        )
        upload_id = self._upload_id(opened)
        for number in range(1, parts + 1):
            part = data[(number - 1) * PART_SIZE : number * PART_SIZE]
            await self._file_request(
                "PUT",
                f"{base}/{upload_id}",
                {
                    "X-Upload-OrgPPAGUID": common["X-Upload-OrgPPAGUID"],
                    "X-Upload-Partnumber": str(number),
                    "Content-MD5": content_md5(part),
                },
                part,
            )
        await self._file_request(
            "POST", f"{base}/{upload_id}?completed", {"X-Upload-OrgPPAGUID": common["X-Upload-OrgPPAGUID"]}
        )
        log.info("uploaded %d bytes in %d parts to file store %s", len(data), parts, context)
        return upload_id

    @staticmethod
    def _upload_id(response: httpx.Response) -> str:
        upload_id = str(response.headers.get("X-Upload-UploadID", "")).strip()
        if not upload_id:
            raise GisProtocolError("file store answer has no X-Upload-UploadID")
        return upload_id
