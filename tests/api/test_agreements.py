"""Repayment agreements over HTTP: create, 422 naming the field, lists, matching on demand."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pypdf
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.domain.accounts.ledger import encode_months
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.penalties import due_date_for
from tests.factories import bearer, make_org, make_token


async def _account(session: AsyncSession, org_id: object) -> Account:
    account = Account(id=uuid.uuid4(), organisation_id=org_id, account_number="LS-AGR-1", payer_kind="person")
    session.add(account)
    await session.flush()
    first = moscow_today().replace(day=1)
    periods = [(first - timedelta(days=31 * k)).replace(day=1) for k in (4, 3, 2)]
    session.add(
        AccountLedger(
            account_id=account.id,
            months=encode_months([(p, Decimal(2000), 0, due_date_for(p)) for p in periods]),
        )
    )
    await session.flush()
    return account


async def test_create_list_and_refresh_agreements(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    token = await make_token(session, scopes=["read", "answer"], orgs=[org.id])
    account = await _account(session, org.id)
    first = (moscow_today() + timedelta(days=5)).isoformat()
    body = {
        "organisation_id": str(org.id),
        "account_id": str(account.id),
        "schedule": {"months": 2, "first_date": first, "amounts": ["1000.00", "1000.00"]},
    }
    bad = await api.post("/api/v1/agreements", json=body, headers=bearer(token))
    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert [(e["path"], e["rule"]) for e in bad.json()["errors"]] == [
        ("body.schedule.amounts", "schedule_sum")
    ]

    past = {**body, "schedule": {"months": 3, "first_date": (moscow_today() - timedelta(days=1)).isoformat()}}
    late = await api.post("/api/v1/agreements", json=past, headers=bearer(token))
    assert late.status_code == 422, late.text
    assert [(e["path"], e["rule"]) for e in late.json()["errors"]] == [
        ("body.schedule.first_date", "date_in_past")
    ]

    # Nothing was written by the refusals: the account has no agreement yet, so this one is not overlapping.
    body["schedule"] = {"months": 3, "first_date": first}
    created = await api.post("/api/v1/agreements", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    agreement = created.json()
    assert agreement["status"] == "active" and Decimal(agreement["total"]) == Decimal("6000")
    assert [Decimal(i["amount"]) for i in agreement["instalments"]] == [Decimal("2000")] * 3

    again = await api.post("/api/v1/agreements", json=body, headers=bearer(token))
    assert again.status_code == 422 and again.json()["errors"][0]["rule"] == "overlapping_agreement"

    listed = await api.get(
        "/api/v1/agreements", params={"organisation_id": str(org.id), "view": "active"}, headers=bearer(token)
    )
    assert [x["id"] for x in listed.json()["items"]] == [agreement["id"]]
    shown = await api.get(f"/api/v1/agreements/{agreement['id']}", headers=bearer(token))
    assert shown.status_code == 200 and len(shown.json()["instalments"]) == 3

    refreshed = await api.post(
        "/api/v1/agreements/refresh", params={"organisation_id": str(org.id)}, headers=bearer(token)
    )
    assert refreshed.json() == {"active": 1, "breached": 0, "completed": 0}

    stranger = await make_token(
        session, scopes=["read"], orgs=[(await make_org(session, inn="7702222222")).id]
    )
    hidden = await api.get(f"/api/v1/agreements/{agreement['id']}", headers=bearer(stranger))
    assert hidden.status_code == 404


async def test_agreement_pdf_masks_the_payer_without_pii(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    account.last_name, account.first_name = "Кузнецова", "Анна"
    reader = await make_token(session, scopes=["read", "answer"], orgs=[org.id])
    first = (moscow_today() + timedelta(days=3)).isoformat()
    body = {
        "organisation_id": str(org.id),
        "account_id": str(account.id),
        "number": "С-17",
        "schedule": {"months": 2, "first_date": first},
    }
    created = (await api.post("/api/v1/agreements", json=body, headers=bearer(reader))).json()
    pdf = await api.get(f"/api/v1/agreements/{created['id']}/agreement.pdf", headers=bearer(reader))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = _pdf_text(pdf.content)
    assert "Соглашение о погашении задолженности № С-17" in text and "Кузнецова" not in text
    assert "3000.00" in text  # 6,000 ₽ over two equal instalments
    pii = await make_token(session, scopes=["read", "pii"], orgs=[org.id], name="pii")
    named = await api.get(f"/api/v1/agreements/{created['id']}/agreement.pdf", headers=bearer(pii))
    assert "Кузнецова Анна" in _pdf_text(named.content)


def _pdf_text(data: bytes) -> str:
    """Extract the text (the PDF's fonts are subset and its streams compressed)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)
