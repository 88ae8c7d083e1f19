"""A minimal protocol-level GIS client with the retry rule of gis-protocol.md §8, for the bench and tests.

It shows what the stand demands of a client under injected faults: every retry is a rebuilt message (new
MessageGUID, Date, signature), getState is polled with its own new messages, and an answer is sent once.
The gateway's own exchange layer is the production implementation of the same rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial

import httpx
from lxml import etree

from app.domain.kernel.calendar import moscow_today
from app.gis_client.crypto.signer import Signer
from app.gis_client.crypto.xmldsig import sign_element
from app.gis_client.errors import GisError, GisFaultError
from app.gis_client.messages import (
    CommonResult,
    DSRAction,
    DSRExportPage,
    DSRResponseData,
    ExportDSRsQuery,
    Period,
    build_export_dsrs,
    build_import_dsr_responses,
)
from app.gis_client.operations import Operation, get_state_operation
from app.gis_client.parse import parse_ack, parse_state, raise_for_fault
from app.gis_client.services import OPERATIONS
from app.gis_client.wire.envelope import build_envelope, build_get_state, new_guid, serialize
from app.gis_client.wire.safexml import parse_xml


@dataclass
class DriverStats:
    """What a run cost: calls made, retries taken, subrequests fetched and answered."""

    calls: int = 0
    retries: int = 0
    fetched: int = 0
    answered: int = 0
    item_errors: list[str] = field(default_factory=list)


class Driver:
    """Send, poll and retry against a GIS endpoint (the stand) for one organisation."""

    def __init__(
        self, http: httpx.AsyncClient, org_ppa_guid: str, signer: Signer, *, max_attempts: int = 50
    ) -> None:
        self.http = http
        self.org = org_ppa_guid
        self.signer = signer
        self.max_attempts = max_attempts
        self.stats = DriverStats()

    async def _post(self, op: Operation, build: Callable[[], etree._Element], sign: bool) -> etree._Element:
        """POST a freshly built message; rebuild and resend on retryable failures."""
        for attempt in range(self.max_attempts):
            if attempt:
                self.stats.retries += 1
                await asyncio.sleep(min(0.01 * attempt, 0.1))
            body = build()
            if sign:
                root = build_envelope(op, body, org_ppa_guid=self.org)
                await sign_element(root, body, self.signer)
            else:
                root = body
            self.stats.calls += 1
            try:
                response = await self.http.post(
                    op.path,
                    content=serialize(root),
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": op.soap_action_header},
                )
            except httpx.TransportError:
                continue
            if response.status_code >= 500 and not response.content.startswith(b"<"):
                continue
            try:
                document = parse_xml(response.content)
                raise_for_fault(document)
            except GisFaultError as fault:
                if fault.retryable:
                    continue
                raise
            except GisError:
                continue  # a truncated answer is a dropped connection
            return document
        raise GisError(f"{op.name}: no answer after {self.max_attempts} attempts")

    async def call(
        self, name: str, build: Callable[[], etree._Element], poll: float = 0.01
    ) -> etree._Element:
        """Send a request (rebuilt on retry) and poll getState until RequestState 3."""
        op = OPERATIONS[name]
        ack = parse_ack(await self._post(op, build, sign=True))
        state_op = get_state_operation(op.service)
        while True:
            document = await self._post(
                state_op,
                partial(build_get_state, op.service, ack.message_guid, org_ppa_guid=self.org),
                sign=False,
            )
            if parse_state(document).request_state == 3:
                return document
            await asyncio.sleep(poll)

    async def fetch_unanswered(self, period: Period) -> list[str]:
        """Return the GUIDs of every NotSent subrequest sent within the period (all pages)."""
        guids: list[str] = []
        cursor: str | None = None
        while True:
            query = ExportDSRsQuery(
                period=period, response_statuses=("NotSent",), export_subrequest_guid=cursor
            )
            state = parse_state(await self.call("exportDebtSubrequests", partial(build_export_dsrs, query)))
            if state.error is not None:
                if state.error.code == "INT002012":
                    break
                raise GisFaultError(state.error.code, state.error.description)
            page = state.payload
            assert isinstance(page, DSRExportPage)
            guids.extend(s.subrequest_guid for s in page.subrequests)
            if page.is_last:
                break
            cursor = page.next_subrequest_guid
        self.stats.fetched += len(guids)
        return guids

    async def answer_no_debt(self, guids: list[str], executor_guid: str, batch: int = 100) -> None:
        """Send "no debt" for each subrequest once, in messages of up to 100 actions."""
        for start in range(0, len(guids), batch):
            # TransportGUIDs fixed per batch: a rebuilt resend describes the same actions.
            actions = [
                DSRAction(new_guid(), g, "Send", DSRResponseData(has_debt=False, executor_guid=executor_guid))
                for g in guids[start : start + batch]
            ]
            state = parse_state(
                await self.call("importResponses", partial(build_import_dsr_responses, actions))
            )
            assert isinstance(state.payload, tuple)
            for result in state.payload:
                if not isinstance(result, CommonResult):
                    raise GisError("importResponses answered with something else than CommonResult")
                if result.errors:
                    self.stats.item_errors.extend(e.code for e in result.errors)
                else:
                    self.stats.answered += 1


async def fetch_and_answer(driver: Driver, *, days: int = 30) -> DriverStats:
    """Fetch every unanswered subrequest of the last `days` days and answer each "no debt" once."""
    today = moscow_today()  # the stand dates subrequests in Moscow time
    guids = await driver.fetch_unanswered(Period(date.fromordinal(today.toordinal() - days), today))
    await driver.answer_no_debt(guids, new_guid())
    return driver.stats
