"""File store REST service (gis-protocol.md §12): single and multi-part upload, HEAD, ranged download."""

from __future__ import annotations

import email.header
import math
import re
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.gis_client.crypto.backend import attachment_hash
from app.gis_client.messages import Attachment
from app.gis_client.services.file_store import FILE_STORE_PATH, PART_SIZE, content_md5
from app.gis_client.wire.envelope import new_guid
from app.gis_stand import codes
from app.gis_stand.models import FilePart, Org, StoredFile
from app.gis_stand.runtime import StandRuntime

PREFIX = FILE_STORE_PATH.removesuffix("/{context}")
CONTEXTS = frozenset(
    {"homemanagement", "contentmanagement", "bills", "debtreq", "agreements", "voting", "informing", "rki",
     "inspection", "licenses", "nsi", "appeals", "msp"}
)  # fmt: skip
_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


class UploadError(Exception):
    """A file-store failure, answered as `X-Upload-Error: <name>` with an HTTP status."""

    def __init__(self, name: str, status: int = 400) -> None:
        super().__init__(name)
        self.name = name
        self.status = status


def _error(exc: UploadError) -> Response:
    return Response(status_code=exc.status, headers={"X-Upload-Error": exc.name})


def decode_filename(value: str | None) -> str:
    """Decode an RFC 2047 encoded-word file name (plain ASCII passes through)."""
    if not value:
        raise UploadError("FieldValidation")
    parts = email.header.decode_header(value)
    text = "".join(p.decode(enc or "ascii") if isinstance(p, bytes) else p for p, enc in parts)
    if not text or any(ch in text for ch in '<>?:|*%"'):
        raise UploadError("FieldValidation")
    return text


def encode_filename(name: str) -> str:
    """Encode a file name as an RFC 2047 UTF-8 encoded-word."""
    return email.header.Header(name, "utf-8").encode()


def _check_md5(request: Request, data: bytes) -> None:
    given = request.headers.get("content-md5")
    if not given:
        raise UploadError("FieldValidation")
    if content_md5(data) != given.strip():
        raise UploadError("HashConflict")


def _int_header(request: Request, name: str) -> int:
    try:
        value = int(request.headers.get(name, ""))
    except ValueError:
        raise UploadError("FieldValidation") from None
    if value < 0:
        raise UploadError("FieldValidation")
    return value


async def _org(session: AsyncSession, request: Request) -> Org:
    ppa = (request.headers.get("x-upload-orgppaguid") or "").strip().lower()
    org = await session.scalar(select(Org).where(Org.ppa_guid == ppa)) if ppa else None
    if org is None:
        raise UploadError("DataProviderValidation", 403)
    return org


def _context(context: str) -> None:
    if context not in CONTEXTS:
        raise UploadError("ContextNotFound", 404)


async def _file(session: AsyncSession, org: Org, context: str, guid: str) -> StoredFile:
    stored = await session.scalar(
        select(StoredFile).where(StoredFile.guid == guid.lower(), StoredFile.context == context)
    )
    if stored is None:
        raise UploadError("FileNotFound", 404)
    if stored.org_id != org.id:
        raise UploadError("FilePermission", 403)
    return stored


async def _read(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError("InvalidSize")
        chunks.append(chunk)
    return b"".join(chunks)


async def file_content(session: AsyncSession, file_id: int) -> bytes:
    """Return the whole content of a file (parts in order)."""
    parts = await session.scalars(
        select(FilePart.data).where(FilePart.file_id == file_id).order_by(FilePart.number)
    )
    return b"".join(parts.all())


async def check_attachments(
    session: AsyncSession, org: Org, attachments: Sequence[Attachment]
) -> tuple[str, str] | None:
    """Check that each attachment is a completed upload of the organisation with a matching hash."""
    for att in attachments:
        stored = await session.scalar(
            select(StoredFile).where(StoredFile.guid == att.attachment_guid.lower())
        )
        if stored is None or stored.org_id != org.id or not stored.completed:
            return codes.FILE_NOT_FOUND, f"attachment {att.attachment_guid} is not in the file store"
        if (att.hash or "").strip().lower() != stored.gost94:
            return codes.FILE_HASH_MISMATCH, f"AttachmentHASH of {att.attachment_guid} differs from the file"
    return None


def build_router(rt: StandRuntime) -> APIRouter:
    """Return the file-store routes bound to a stand runtime."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.put("/{context}")
    async def upload_small(context: str, request: Request) -> Response:
        try:
            _context(context)
            name = decode_filename(request.headers.get("x-upload-filename"))
            data = await _read(request, PART_SIZE)
            _check_md5(request, data)
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = StoredFile(
                    guid=new_guid(), context=context, org_id=org.id, filename=name, length=len(data),
                    part_count=1, completed=True, gost94=attachment_hash(data, rt.backend),
                    created_at=utcnow(),
                )  # fmt: skip
                session.add(stored)
                await session.flush()
                session.add(FilePart(file_id=stored.id, number=1, data=data))
                await session.commit()
                return Response(status_code=200, headers={"X-Upload-UploadID": stored.guid})
        except UploadError as exc:
            return _error(exc)

    @router.post("/{context}")
    @router.post("/{context}/")
    async def open_upload(context: str, request: Request) -> Response:
        try:
            _context(context)
            if "upload" not in request.query_params:
                raise UploadError("FieldValidation")
            name = decode_filename(request.headers.get("x-upload-filename"))
            length = _int_header(request, "x-upload-length")
            parts = _int_header(request, "x-upload-part-count")
            if parts < 1 or parts != max(1, math.ceil(length / PART_SIZE)):
                raise UploadError("InvalidPartNumber")
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = StoredFile(
                    guid=new_guid(), context=context, org_id=org.id, filename=name, length=length,
                    part_count=parts, completed=False, created_at=utcnow(),
                )  # fmt: skip
                session.add(stored)
                await session.commit()
                return Response(status_code=200, headers={"X-Upload-UploadID": stored.guid})
        except UploadError as exc:
            return _error(exc)

    @router.put("/{context}/{guid}")
    async def upload_part(context: str, guid: str, request: Request) -> Response:
        try:
            _context(context)
            number = _int_header(request, "x-upload-partnumber")
            data = await _read(request, PART_SIZE)
            _check_md5(request, data)
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = await _file(session, org, context, guid)
                if stored.completed:
                    raise UploadError("InvalidStatus")
                if not 1 <= number <= stored.part_count:
                    raise UploadError("InvalidPartNumber")
                expected = (
                    PART_SIZE
                    if number < stored.part_count
                    else stored.length - PART_SIZE * (stored.part_count - 1)
                )
                if len(data) != expected:
                    raise UploadError("InvalidSize")
                # A part sent again replaces the earlier copy (a client retrying after a dropped answer).
                await session.execute(
                    delete(FilePart).where(FilePart.file_id == stored.id, FilePart.number == number)
                )
                session.add(FilePart(file_id=stored.id, number=number, data=data))
                await session.commit()
                return Response(status_code=200)
        except UploadError as exc:
            return _error(exc)

    @router.post("/{context}/{guid}")
    async def complete_upload(context: str, guid: str, request: Request) -> Response:
        try:
            _context(context)
            if "completed" not in request.query_params:
                raise UploadError("FieldValidation")
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = await _file(session, org, context, guid)
                if not stored.completed:
                    count = await session.scalar(
                        select(func.count()).select_from(FilePart).where(FilePart.file_id == stored.id)
                    )
                    if count != stored.part_count:
                        raise UploadError("InvalidStatus")
                    stored.gost94 = attachment_hash(await file_content(session, stored.id), rt.backend)
                    stored.completed = True
                    await session.commit()
                return Response(status_code=200)
        except UploadError as exc:
            return _error(exc)

    @router.head("/{context}/{guid}")
    async def info(context: str, guid: str, request: Request) -> Response:
        try:
            _context(context)
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = await _file(session, org, context, guid)
                numbers = (
                    await session.scalars(
                        select(FilePart.number).where(FilePart.file_id == stored.id).order_by(FilePart.number)
                    )
                ).all()
                headers = {
                    "X-Upload-Length": str(stored.length),
                    "X-Upload-Filename": encode_filename(stored.filename),
                    "X-Upload-Completed-Parts": ",".join(str(n) for n in numbers),
                    "X-Upload-Completed": "true" if stored.completed else "false",
                }
                return Response(status_code=200, headers=headers)
        except UploadError as exc:
            return _error(exc)

    @router.get("/{context}/{guid}")
    async def download(context: str, guid: str, request: Request) -> Response:
        try:
            _context(context)
            if "getfile" not in request.query_params:
                raise UploadError("FieldValidation")
            async with rt.sessionmaker() as session:
                org = await _org(session, request)
                stored = await _file(session, org, context, guid)
                if not stored.completed:
                    raise UploadError("InvalidStatus")
                data = await file_content(session, stored.id)
            header = request.headers.get("range")
            if header is None:
                if len(data) > PART_SIZE:
                    raise UploadError("InvalidSize")  # larger files come in ≤ 5 MB ranges (§12)
                return Response(data, media_type="application/octet-stream")
            match = _RANGE.match(header.strip())
            if match is None:
                raise UploadError("FieldValidation")
            first, last = int(match.group(1)), int(match.group(2))
            if first > last or first >= len(data):
                return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
            last = min(last, len(data) - 1)
            if last - first + 1 > PART_SIZE:
                raise UploadError("InvalidSize")
            return Response(
                data[first : last + 1],
                status_code=206,
                media_type="application/octet-stream",
                headers={"Content-Range": f"bytes {first}-{last}/{len(data)}"},
            )
        except UploadError as exc:
            return _error(exc)

    return router
