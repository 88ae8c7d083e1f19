"""exportPaymentDocumentData over real HTTP: seeded accounts and premises blocks, valid per the XSD."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from app.gis_client.messages import (
    Account,
    ExportAccountQuery,
    ExportPaymentDocumentQuery,
    PaymentDocumentExport,
    build_export_account,
    build_export_payment_documents,
)
from app.gis_client.parse import parse_state
from app.gis_stand.models import Account as AccountRow
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller


async def _documents(caller: GisCaller, query: ExportPaymentDocumentQuery) -> PaymentDocumentExport | str:
    state = parse_state(await caller.call("exportPaymentDocumentData", build_export_payment_documents(query)))
    if state.error is not None:
        return state.error.code
    assert isinstance(state.payload, PaymentDocumentExport)
    return state.payload


async def _accounts(caller: GisCaller, query: ExportAccountQuery) -> tuple[Account, ...]:
    state = parse_state(await caller.call("exportAccountData", build_export_account(query)))
    assert state.error is None, state.error
    assert isinstance(state.payload, tuple)
    return state.payload


async def test_export_payment_documents_of_seeded_accounts_by_month(
    caller: GisCaller, stand: tuple[str, StandRuntime]
) -> None:
    runtime = stand[1]
    async with runtime.sessionmaker() as session:
        rows = (await session.scalars(select(AccountRow).order_by(AccountRow.id).limit(5))).all()
    today = runtime.clock.today()
    last = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    found = await _documents(
        caller,
        ExportPaymentDocumentQuery(year=last[0], month=last[1], account_guids=tuple(r.guid for r in rows)),
    )
    assert isinstance(found, PaymentDocumentExport)
    billed = [r for r in rows if (r.creation_date.year, r.creation_date.month) <= last]
    assert {d.account_guid for d in found.documents} == {r.guid for r in billed}
    for doc in found.documents:
        assert (doc.year, doc.month) == last and len(doc.payment_document_id) == 18
    # The current month is not billed yet: nothing to export.
    assert (
        await _documents(
            caller,
            ExportPaymentDocumentQuery(
                year=today.year, month=today.month, unified_account_numbers=(rows[0].unified_number,)
            ),
        )
        == "INT002012"
    )


async def test_premises_block_serves_accounts_and_documents_generated_on_the_fly(
    caller: GisCaller, admin: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    reply = await admin.post(
        "/stand/admin/premises-blocks",
        json={
            "org_ppa_guid": caller.org_ppa_guid,
            "premises": 200_000,
            "per_house": 1000,
            "documents": {"2025-03": 199_999, "2025-04": 1500},
        },
    )
    assert reply.status_code == 201, reply.text
    assert time.monotonic() - started < 5  # one row, whatever the size
    block = reply.json()
    houses = block["fias_house_guids"]
    assert len(houses) == 200
    accounts = await _accounts(caller, ExportAccountQuery(fias_house_guid=houses[-1]))
    assert len(accounts) == 1000
    assert all(a.kind == "isUOAccount" and a.accommodations[0].kind == "PremisesGUID" for a in accounts)
    guids = tuple(a.account_guid for a in accounts)
    march = await _documents(caller, ExportPaymentDocumentQuery(year=2025, month=3, account_guids=guids))
    assert isinstance(march, PaymentDocumentExport)
    # The last premises of the last house (index 199,999) has no document in March.
    assert len(march.documents) == 999
    assert {d.account_guid for d in march.documents} == set(guids[:-1])
    assert len({d.payment_document_id for d in march.documents}) == 999
    assert await _documents(caller, ExportPaymentDocumentQuery(year=2025, month=4, account_guids=guids)) == (
        "INT002012"
    )
    first = await _accounts(caller, ExportAccountQuery(fias_house_guid=houses[1]))
    april = await _documents(
        caller,
        ExportPaymentDocumentQuery(year=2025, month=4, account_guids=tuple(a.account_guid for a in first)),
    )
    assert isinstance(april, PaymentDocumentExport) and len(april.documents) == 500
    changed = await admin.patch(
        f"/stand/admin/premises-blocks/{block['tag']}", json={"documents": {"2025-03": 200_000}}
    )
    assert changed.status_code == 200 and changed.json()["documents"]["2025-03"] == 200_000
    bad = await admin.post(
        "/stand/admin/premises-blocks",
        json={"org_ppa_guid": caller.org_ppa_guid, "premises": 10, "documents": {"March": 1}},
    )
    assert bad.status_code == 422
