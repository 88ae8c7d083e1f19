"""File store (§12), AttachmentHASH checks, exportAccountData and the debts registry over real HTTP."""

from __future__ import annotations

import base64
import hashlib
from datetime import date

import httpx
from sqlalchemy import select

from app.domain.kernel.calendar import moscow_today
from app.gis_client.crypto.backend import get_backend
from app.gis_client.messages import (
    Attachment,
    DebtDocument,
    DebtExportPage,
    DebtImportItem,
    DebtInfo,
    DebtObject,
    Debtor,
    DSRAction,
    DSRExportPage,
    DSRResponseData,
    ExportAccountQuery,
    ExportDebtQuery,
    ExportDSRsQuery,
    JudicialAct,
    NsiRef,
    Period,
    Person,
    PlacingDebt,
    build_export_account,
    build_export_debt,
    build_export_dsrs,
    build_import_debt,
    build_import_dsr_responses,
)
from app.gis_client.parse import parse_state
from app.gis_client.services.file_store import PART_SIZE
from app.gis_client.wire.envelope import new_guid
from app.gis_stand.files import encode_filename
from app.gis_stand.models import Account as StandAccount
from app.gis_stand.models import House, Org
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller, make_caller

CTX = "/ext-bus-file-store-service/rest/debtreq"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - protocol checksum


async def _upload(caller: GisCaller, data: bytes, name: str = "Судебный приказ.pdf") -> str:
    response = await caller.http.put(
        CTX,
        content=data,
        headers={
            "X-Upload-OrgPPAGUID": caller.org_ppa_guid,
            "X-Upload-Filename": encode_filename(name),
            "Content-MD5": _md5(data),
        },
    )
    assert response.status_code == 200, response.headers
    return response.headers["X-Upload-UploadID"]


async def _subrequests(caller: GisCaller) -> DSRExportPage:
    today = moscow_today()
    query = ExportDSRsQuery(period=Period(date.fromordinal(today.toordinal() - 30), today))
    page = parse_state(await caller.call("exportDebtSubrequests", build_export_dsrs(query))).payload
    assert isinstance(page, DSRExportPage)
    return page


async def test_upload_single_head_and_range_download(caller: GisCaller) -> None:
    data = b"%PDF-1.4 court order " * 100
    guid = await _upload(caller, data)
    org = {"X-Upload-OrgPPAGUID": caller.org_ppa_guid}
    head = await caller.http.head(f"{CTX}/{guid}", headers=org)
    assert head.headers["X-Upload-Length"] == str(len(data))
    assert head.headers["X-Upload-Completed"] == "true"
    part = await caller.http.get(f"{CTX}/{guid}?getfile", headers={**org, "Range": "bytes=5-14"})
    assert part.status_code == 206 and part.content == data[5:15]
    whole = await caller.http.get(f"{CTX}/{guid}?getfile", headers=org)
    assert whole.content == data
    bad = await caller.http.put(
        CTX, content=data, headers={**org, "X-Upload-Filename": "a.pdf", "Content-MD5": _md5(b"other")}
    )
    assert bad.headers["X-Upload-Error"] == "HashConflict"


async def test_upload_in_parts(caller: GisCaller) -> None:
    data = bytes(range(256)) * (PART_SIZE // 256) + b"tail"
    org = {"X-Upload-OrgPPAGUID": caller.org_ppa_guid}
    opened = await caller.http.post(
        f"{CTX}/?upload",
        headers={**org, "X-Upload-Filename": "statement.xlsx", "X-Upload-Length": str(len(data)),
                 "X-Upload-Part-Count": "2"},
    )  # fmt: skip
    guid = opened.headers["X-Upload-UploadID"]
    for number, chunk in ((2, data[PART_SIZE:]), (1, data[:PART_SIZE])):
        put = await caller.http.put(
            f"{CTX}/{guid}",
            content=chunk,
            headers={**org, "X-Upload-Partnumber": str(number), "Content-MD5": _md5(chunk)},
        )
        assert put.status_code == 200, put.headers
    head = await caller.http.head(f"{CTX}/{guid}", headers=org)
    assert head.headers["X-Upload-Completed"] == "false" and head.headers["X-Upload-Completed-Parts"] == "1,2"
    done = await caller.http.post(f"{CTX}/{guid}?completed", headers=org)
    assert done.status_code == 200
    tail = await caller.http.get(
        f"{CTX}/{guid}?getfile", headers={**org, "Range": f"bytes={PART_SIZE}-{len(data) - 1}"}
    )
    assert tail.content == b"tail"


async def test_attachment_hash_is_checked(caller: GisCaller) -> None:
    data = b"court order scan"
    guid = await _upload(caller, data)
    good = get_backend("auto").gost94_cryptopro(data).hex()
    page = await _subrequests(caller)
    subs = [s.subrequest_guid for s in page.subrequests[:2]]

    def action(sub: str, digest: str) -> DSRAction:
        doc = DebtDocument(
            NsiRef("1", new_guid(), "Судебный приказ"),
            Attachment("order.pdf", "Судебный приказ", guid, digest),
        )
        person = Person(first_name="Иван", last_name="Иванов", middle_name="Иванович", snils="11223344595")
        return DSRAction(
            new_guid(), sub, "Send",
            DSRResponseData(has_debt=True, executor_guid=new_guid(), debt_info=(DebtInfo(person, (doc,)),)),
        )  # fmt: skip

    state = parse_state(
        await caller.call(
            "importResponses", build_import_dsr_responses([action(subs[0], "0" * 64), action(subs[1], good)])
        )
    )
    assert isinstance(state.payload, tuple)
    assert [r.errors[0].code if r.errors else None for r in state.payload] == ["FIL001005", None]


async def test_export_accounts_by_house_and_unified_number(
    caller: GisCaller, admin: httpx.AsyncClient
) -> None:
    del admin
    state = parse_state(
        await caller.call(
            "exportAccountData", build_export_account(ExportAccountQuery(fias_house_guid=new_guid()))
        )
    )
    # A house missing from GIS's registry: INT002000, which the gateway reads as an empty result (§8).
    assert state.error is not None and state.error.code == "INT002000"
    page = await _subrequests(caller)
    fias = page.subrequests[0].request.housing_fund_object.fias_house_guid
    assert fias is not None
    accounts = parse_state(
        await caller.call("exportAccountData", build_export_account(ExportAccountQuery(fias_house_guid=fias)))
    ).payload
    assert isinstance(accounts, tuple) and len(accounts) == 60
    els = accounts[0].unified_account_number
    assert len(els) == 10 and accounts[0].service_id == f"{els}-01"
    again = parse_state(
        await caller.call(
            "exportAccountData", build_export_account(ExportAccountQuery(unified_account_numbers=(els,)))
        )
    ).payload
    assert isinstance(again, tuple) and [a.account_guid for a in again] == [accounts[0].account_guid]


async def test_place_and_export_court_confirmed_debt(caller: GisCaller) -> None:
    page = parse_state(await caller.call("exportDebt", build_export_debt(ExportDebtQuery()))).payload
    assert isinstance(page, DebtExportPage) and page.is_last_page
    before = len(page.debts)
    premise = page.debts[0].debt_object.premise_guid
    assert premise is not None
    placing = PlacingDebt(
        DebtObject(premise_guid=premise),
        Debtor(surname="Петрова", first_name="Анна", patronymic="Сергеевна", snils="11223344595"),
        JudicialAct("2-123/2025", date(2025, 3, 1), date(2025, 2, 10)),
    )
    state = parse_state(
        await caller.call("importDebt", build_import_debt([DebtImportItem(new_guid(), placing)]))
    )
    assert isinstance(state.payload, tuple) and state.payload[0].ok and state.payload[0].guid
    page = parse_state(
        await caller.call("exportDebt", build_export_debt(ExportDebtQuery(judicial_act_number="2-123/2025")))
    ).payload
    assert isinstance(page, DebtExportPage) and [d.debt_guid for d in page.debts] == [state.payload[0].guid]
    everything = parse_state(await caller.call("exportDebt", build_export_debt(ExportDebtQuery()))).payload
    assert isinstance(everything, DebtExportPage) and len(everything.debts) == before + 1


async def test_export_accounts_by_house_leaves_out_another_organisations(
    caller: GisCaller,
    stand: tuple[str, StandRuntime],
    admin: httpx.AsyncClient,
    client_keys: tuple[bytes, bytes],
) -> None:
    """Two suppliers in one house: each exports only its own accounts of it (the organisation is checked on
    the house's rows, which are found through the house's index)."""
    page = await _subrequests(caller)
    fias = page.subrequests[0].request.housing_fund_object.fias_house_guid
    assert fias is not None
    other = await make_caller(stand[0], admin, client_keys, seed=8)
    in_house = (
        select(StandAccount).join(House, House.id == StandAccount.house_id).where(House.fias_guid == fias)
    )
    async with stand[1].sessionmaker() as session, session.begin():
        org = await session.scalar(select(Org).where(Org.ppa_guid == other.org_ppa_guid))
        template = await session.scalar(in_house)
        assert org is not None and template is not None
        columns = {c.key: getattr(template, c.key) for c in StandAccount.__table__.columns if c.key != "id"}
        columns |= {"org_id": org.id, "guid": new_guid(), "unified_number": "99ZZ000001"}
        session.add(StandAccount(**columns | {"service_id": "99ZZ000001-01"}))
    query = ExportAccountQuery(fias_house_guid=fias)
    ours = parse_state(await caller.call("exportAccountData", build_export_account(query))).payload
    theirs = parse_state(await other.call("exportAccountData", build_export_account(query))).payload
    await other.http.aclose()
    assert isinstance(ours, tuple) and len(ours) == 60
    assert "99ZZ000001" not in {a.unified_account_number for a in ours}
    assert isinstance(theirs, tuple) and [a.unified_account_number for a in theirs] == ["99ZZ000001"]
