"""Restriction step documents (ПП 354 п. 117–120): generated only when the recorded facts allow, as PDFs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.db.models.core import AuditEvent
from app.domain.accounts.importing import upsert_accounts
from app.domain.kernel.calendar import moscow_today
from app.domain.monitoring.documents import long_date
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import bearer, make_org, make_token
from tests.monitoring_support import monitoring_rows

PAYMENT = {"payee": "УК", "inn": "7701234567", "bank": "Банк", "bik": "044525225", "account": "4" * 20}
CASES = "/api/v1/monitoring/restriction-cases"


async def _seeded(session: AsyncSession) -> tuple[str, dict[str, str]]:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    token = await make_token(session, scopes=["court", "read", "answer", "pii"], orgs=[org.id])
    return str(org.id), bearer(token)


async def _case(api: httpx.AsyncClient, org_id: str, utility: str, auth: dict[str, str]) -> str:
    r = await api.post(
        CASES, json={"organisation_id": org_id, "utility": utility, "on_date": "2026-03-31"}, headers=auth
    )
    assert r.status_code == 201, r.text
    return str(r.json()["opened"][0]["id"])


async def _event(api: httpx.AsyncClient, case_id: str, auth: dict[str, str], **body: Any) -> None:
    r = await api.post(f"{CASES}/{case_id}/events", json=body, headers=auth)
    assert r.status_code == 200, r.text


async def _text(api: httpx.AsyncClient, case_id: str, kind: str, auth: dict[str, str]) -> str:
    r = await api.get(f"{CASES}/{case_id}/documents/{kind}", headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages).replace("\xa0", " ")


async def _refused(api: httpx.AsyncClient, case_id: str, kind: str, auth: dict[str, str]) -> str:
    r = await api.get(f"{CASES}/{case_id}/documents/{kind}", headers=auth)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["errors"][0]["path"] == "path.kind"
    return str(problem["errors"][0]["rule"])


async def _states(api: httpx.AsyncClient, case_id: str, auth: dict[str, str]) -> dict[str, str | None]:
    r = await api.get(f"{CASES}/{case_id}/documents", headers=auth)
    assert r.status_code == 200, r.text
    return {d["kind"]: d["refused_by"] for d in r.json()}


async def test_electricity_documents_follow_the_recorded_facts(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    case_id = await _case(api, org_id, "electricity", auth)
    assert await _states(api, case_id, auth) == {
        "warning": None,
        "restriction_notice": "warning_not_delivered",
        "suspension_notice": "not_restricted",
        "resumption_record": "not_resumed",
    }
    warning = await _text(api, case_id, "warning", auth)
    assert "ПРЕДУПРЕЖДЕНИЕ" in warning and "Иванов Иван" in warning and "№ A2" in warning
    assert "«электроснабжение»" in warning and "2 300,00 ₽" in warning and "933,33 ₽" in warning
    assert "в течение 20 дней со дня доставки" in warning and "приблизительно" in warning
    assert await _refused(api, case_id, "restriction_notice", auth) == "warning_not_delivered"

    # The warning is delivered by registered mail: its delivery date counts, not the send date.
    run = await api.post(
        "/api/v1/monitoring/notice-runs",
        json={"organisation_id": org_id, "on_date": "2026-03-31", "payment_details": PAYMENT},
        headers=auth,
    )
    notice = next(n for n in run.json()["notices"] if n["account_number"] == "A2")
    for event in (
        {"event": "sent", "on_date": "2026-04-01", "channel": "registered_mail"},
        {"event": "delivered", "on_date": "2026-04-06"},
    ):
        r = await api.post(f"/api/v1/monitoring/notices/{notice['id']}/events", json=event, headers=auth)
        assert r.status_code == 200, r.text
    await _event(api, case_id, auth, event="warning_delivered", notice_id=notice["id"])
    assert "доставлено 6 апреля 2026 г." in await _text(api, case_id, "warning", auth)
    planned = await _text(api, case_id, "restriction_notice", auth)
    assert "УВЕДОМЛЕНИЕ ОБ ОГРАНИЧЕНИИ" in planned and "будет ограничено с 27 апреля 2026 г." in planned
    assert "доставлено Вам 6 апреля 2026 г." in planned
    assert await _refused(api, case_id, "suspension_notice", auth) == "not_restricted"

    await _event(api, case_id, auth, event="restricted", on_date="2026-04-28")
    done = await _text(api, case_id, "restriction_notice", auth)
    assert "«электроснабжение» ограничено с 28 апреля 2026 г." in done
    # Not delivered yet: the earliest of 10 days after restriction and 3 days after delivery (today at best).
    earliest = max(moscow_today() + timedelta(days=3), date(2026, 5, 9))
    suspension = await _text(api, case_id, "suspension_notice", auth)
    assert "УВЕДОМЛЕНИЕ О ПРИОСТАНОВЛЕНИИ" in suspension
    assert f"будет приостановлено {long_date(earliest)}, не ранее чем через 3 дн." in suspension

    await _event(api, case_id, auth, event="suspension_notice_delivered", on_date="2026-05-02")
    suspension = await _text(api, case_id, "suspension_notice", auth)
    assert "будет приостановлено 9 мая 2026 г." in suspension and "доставлено 2 мая 2026 г." in suspension
    await _event(api, case_id, auth, event="suspended", on_date="2026-05-09")
    await _event(api, case_id, auth, event="debt_paid", on_date="2026-05-10")
    assert await _refused(api, case_id, "resumption_record", auth) == "not_resumed"
    await _event(api, case_id, auth, event="resumed", on_date="2026-05-13")
    record = await _text(api, case_id, "resumption_record", auth)
    assert "АКТ О ВОЗОБНОВЛЕНИИ" in record and "приостановлено 9 мая 2026 г." in record
    assert "задолженность погашена 10 мая 2026 г." in record
    assert (
        "возобновлено 13 мая 2026 г.; срок возобновления — до 12 мая 2026 г. включительно (срок пропущен)"
        in (record)
    )
    assert await _states(api, case_id, auth) == dict.fromkeys(
        ("warning", "restriction_notice", "suspension_notice", "resumption_record")
    )

    # Every generation is journaled: in the timeline's journal and in the audit journal.
    case = (await api.get(f"{CASES}/{case_id}", headers=auth)).json()
    generated = [e["details"]["kind"] for e in case["events"] if e["event"] == "document"]
    assert generated == [
        "warning",
        "warning",
        "restriction_notice",
        "restriction_notice",
        "suspension_notice",
        "suspension_notice",
        "resumption_record",
    ]
    stated = [e["details"]["stated_date"] for e in case["events"] if e["event"] == "document"]
    assert stated[-1] == "2026-05-13" and stated[-2] == "2026-05-09"
    audits = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "restriction.document"))
    ).all()
    assert len(audits) == 7 and all(a.resource_id == case_id for a in audits)
    assert case["status"] == "resumed"

    # Every step is journaled with its proof and the dates it computed, and in the audit journal.
    steps = [(e["event"], e["on_date"], e["details"]) for e in case["events"] if e["event"] != "document"]
    assert steps == [
        ("opened", "2026-03-31", {"debt": "2300.00", "monthly_charge": "933.33"}),
        (
            "warning_delivered",
            "2026-04-06",
            {
                "notice_id": notice["id"],
                "channel": "registered_mail",
                "restriction_allowed_from": "2026-04-27",
            },
        ),
        ("restricted", "2026-04-28", {"suspension_allowed_from": "2026-05-09"}),
        ("suspension_notice_delivered", "2026-05-02", {"suspension_allowed_from": "2026-05-09"}),
        ("suspended", "2026-05-09", None),
        ("debt_paid", "2026-05-10", {"resume_by": "2026-05-12"}),
        ("resumed", "2026-05-13", {"late": "true"}),
    ]
    actions = (
        await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.resource_id == case_id, AuditEvent.action != "restriction.document")
            .order_by(AuditEvent.id)
        )
    ).all()
    assert actions == [f"restriction.{step[0]}" for step in steps[1:]]


async def test_heating_and_cold_water_have_no_suspension_notice(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    for utility, step in (("heating", "restricted"), ("cold_water", "restriction_impossible")):
        case_id = await _case(api, org_id, utility, auth)
        warning = await _text(api, case_id, "warning", auth)
        assert "приостановлено (п. 119 в)" not in warning and "приостановлено без" not in warning
        assert "приостановление предоставления этой услуги не допускается (п. 119)" in warning
        await _event(api, case_id, auth, event="warning_delivered", on_date="2026-04-01")
        await _event(api, case_id, auth, event=step, on_date="2026-04-22")
        notice = await _text(api, case_id, "restriction_notice", auth)
        if step == "restriction_impossible":
            assert "«холодное водоснабжение» не вводится (установлено 22 апреля 2026 г.)" in notice
            assert "приостановление предоставления этой услуги не допускается" in notice
        else:
            assert "«отопление» ограничено с 22 апреля 2026 г." in notice
        assert await _refused(api, case_id, "suspension_notice", auth) == "suspension_forbidden"
        states = await _states(api, case_id, auth)
        assert states["suspension_notice"] == "suspension_forbidden" and states["restriction_notice"] is None

    # Per debtor: the account's timelines with their next step and documents.
    listed = await api.get(CASES, params={"organisation_id": org_id, "account_number": "A2"}, headers=auth)
    assert listed.status_code == 200, listed.text
    assert sorted((c["utility"], c["status"], c["next_step"]) for c in listed.json()) == [
        ("cold_water", "restricted", None),
        ("heating", "restricted", None),
    ]
    for c in listed.json():
        assert {d["kind"]: d["refused_by"] for d in c["documents"]} == {
            "warning": None,
            "restriction_notice": None,
            "suspension_notice": "suspension_forbidden",
            "resumption_record": "not_resumed",
        }
    none = await api.get(CASES, params={"organisation_id": org_id, "account_number": "A1"}, headers=auth)
    assert none.status_code == 200 and none.json() == []
    bad = await api.get(CASES, params={"organisation_id": org_id, "account_number": ""}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.account_number"


async def test_resumption_record_after_an_agreement(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org_id, auth = await _seeded(session)
    case_id = await _case(api, org_id, "gas", auth)
    await _event(api, case_id, auth, event="warning_delivered", on_date="2026-04-01")
    await _event(api, case_id, auth, event="restricted", on_date="2026-04-22")
    await _event(api, case_id, auth, event="agreement", on_date="2026-04-25")
    # The timeline stopped before suspension: no suspension notice; supply limited is still to be resumed.
    assert await _refused(api, case_id, "suspension_notice", auth) == "case_closed"
    await _event(api, case_id, auth, event="resumed", on_date="2026-04-26")
    record = await _text(api, case_id, "resumption_record", auth)
    assert "заключено соглашение о погашении задолженности (25 апреля 2026 г.)" in record
    assert "ограничено 22 апреля 2026 г." in record and "(срок соблюдён)" in record
    again = await api.post(
        f"{CASES}/{case_id}/events", json={"event": "resumed", "on_date": "2026-04-27"}, headers=auth
    )
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "case_closed"


async def test_documents_need_pii_and_a_known_kind(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org_id, auth = await _seeded(session)
    case_id = await _case(api, org_id, "electricity", auth)
    court_only = bearer(await make_token(session, scopes=["court"], all_orgs=True, name="no-pii"))
    assert (await api.get(f"{CASES}/{case_id}/documents/warning", headers=court_only)).status_code == 403
    bad = await api.get(f"{CASES}/{case_id}/documents/eviction", headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "path.kind"
    stopped = await _case(api, org_id, "hot_water", auth)
    await _event(api, stopped, auth, event="agreement", on_date="2026-04-02")
    assert await _refused(api, stopped, "warning", auth) == "case_closed"


async def test_suspension_notice_lead_follows_the_setting(session: AsyncSession, database_url: str) -> None:
    app = create_app(make_settings(database_url, monitoring_restriction_suspension_notice_days=7))

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    org_id, auth = await _seeded(session)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as api:
            case_id = await _case(api, org_id, "electricity", auth)
            await _event(api, case_id, auth, event="warning_delivered", on_date="2026-04-01")
            await _event(api, case_id, auth, event="restricted", on_date="2026-04-22")
            await _event(api, case_id, auth, event="suspension_notice_delivered", on_date="2026-04-30")
            case = (await api.get(f"{CASES}/{case_id}", headers=auth)).json()
            # 10 days after restriction is 3 May; 7 days after the notice's delivery is 7 May.
            assert (case["next_step"], case["next_step_from"]) == ("suspended", "2026-05-07")
            assert "будет приостановлено 7 мая 2026 г., не ранее чем через 7 дн." in await _text(
                api, case_id, "suspension_notice", auth
            )
            body = {"event": "suspended", "on_date": "2026-05-06"}
            early = await api.post(f"{CASES}/{case_id}/events", json=body, headers=auth)
            assert early.status_code == 409 and early.json()["errors"][0]["rule"] == "too_early"
