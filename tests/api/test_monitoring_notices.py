"""Pre-court notices: selection by rules, PDFs with a Cyrillic font, the register, the journal, e-mail."""

from __future__ import annotations

import csv
import email
import email.header
import io
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.db.models.accounts import Account
from app.db.models.writeoff import WriteOffAct, WriteOffLine
from app.domain.accounts.importing import upsert_accounts
from app.domain.monitoring import documents
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import bearer, make_org, make_token
from tests.monitoring_support import monitoring_rows

PAYMENT = {
    "payee": "ООО «УК Тестовая»",
    "inn": "7701234567",
    "bank": "ПАО Сбербанк",
    "bik": "044525225",
    "account": "40702810938000000001",
}
RULES = {"min_debt": "100.00", "min_months_overdue": 3, "noticed_within_days": 30}


async def _seeded(session: AsyncSession) -> tuple[str, dict[str, str]]:
    org = await make_org(session)
    rows = monitoring_rows()
    rows[1]["dispute"] = True  # A2: a disputed debt gets no notice
    rows[0] |= {"phone": "8 912 000-00-01", "email": "a1@example.ru"}  # A1 can get an SMS and an e-mail
    rows[3] |= {"phone": "+79120000004"}  # A4 an SMS only; A6 neither
    await upsert_accounts(session=session, organisation_id=org.id, rows=rows)
    token = await make_token(session, scopes=["court", "pii"], orgs=[org.id])
    return str(org.id), bearer(token)


async def _run(api: httpx.AsyncClient, org_id: str, auth: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"organisation_id": org_id, "on_date": "2026-03-31", "rules": RULES, "payment_details": PAYMENT}
    return await api.post("/api/v1/monitoring/notice-runs", json={**body, **extra}, headers=auth)


async def test_post_notice_run_selects_only_debtors_the_rules_name(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await _run(api, org_id, auth)
    assert r.status_code == 201, r.text
    run = r.json()
    # A1 1500 (3 mo), A4 100 (5 mo), A6 5000 (24 mo); A2 disputed; A3 paid up; A7 0.01 and 2 months.
    assert [(n["account_number"], n["debt"], n["months_overdue"]) for n in run["notices"]] == [
        ("A1", "1500.00", 3),
        ("A4", "100.00", 5),
        ("A6", "5000.00", 24),
    ]
    assert run["excluded"] == {"dispute": 1}
    a1 = run["notices"][0]
    assert [(m["period"], m["amount"]) for m in a1["months"]] == [
        ("2025-12-01", "1000.00"),
        ("2026-01-01", "500.00"),
    ]
    assert all(n["status"] == "created" for n in run["notices"])
    assert float(run["notices"][2]["penalties"]) > 0

    again = await _run(api, org_id, auth)
    assert again.json()["notices"] == [] and again.json()["excluded"] == {"dispute": 1, "noticed_recently": 3}


async def test_post_notice_run_refuses_bad_rules_naming_the_field(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    r = await _run(api, org_id, auth, rules={"min_months_overdue": 0})
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "body.rules.min_months_overdue"
    r = await _run(api, org_id, auth, rules={"min_sum": 5})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.rules.min_sum"
    r = await _run(api, org_id, auth, payment_details={**PAYMENT, "bik": "12"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.payment_details.bik"


async def test_get_notice_documents_pdf_and_register(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org_id, auth = await _seeded(session)
    run = (await _run(api, org_id, auth)).json()
    pdf = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert b"DejaVu" in pdf.content  # the Cyrillic TTF font is embedded
    assert pdf.content.count(b"/Type /Page\n") == 3 or pdf.content.count(b"/Type /Page") >= 3
    one = await api.get(f"/api/v1/monitoring/notices/{run['notices'][0]['id']}/pdf", headers=auth)
    assert one.status_code == 200 and one.content.startswith(b"%PDF-")
    register = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/register", headers=auth)
    lines = list(csv.DictReader(io.StringIO(register.text.lstrip("\ufeff")), delimiter=";"))
    assert [(x["seq"], x["account_number"], x["addressee"], x["debt"]) for x in lines] == [
        ("1", "A1", "Иванов Иван", "1500.00"),
        ("2", "A4", "Иванов Иван", "100.00"),
        ("3", "A6", "Иванов Иван", "5000.00"),
    ]
    no_pii = bearer(await make_token(session, scopes=["court"], all_orgs=True, name="no-pii"))
    refused = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/pdf", headers=no_pii)
    assert refused.status_code == 403


async def test_notice_journal_moves_only_on_recorded_facts(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    run = (await _run(api, org_id, auth)).json()
    first, second, third = (n["id"] for n in run["notices"])
    early = await api.post(
        f"/api/v1/monitoring/notices/{first}/events",
        json={"event": "delivered", "on_date": "2026-04-01"},
        headers=auth,
    )
    assert early.status_code == 409 and "notice_transition" in early.text
    sent = await api.post(
        f"/api/v1/monitoring/notices/{first}/events",
        json={"event": "sent", "on_date": "2026-04-01", "channel": "registered_mail"},
        headers=auth,
    )
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    before = await api.post(
        f"/api/v1/monitoring/notices/{first}/events",
        json={"event": "delivered", "on_date": "2026-03-30"},
        headers=auth,
    )
    assert before.status_code == 422 and before.json()["errors"][0]["path"] == "body.on_date"

    journal = "\n".join(
        [
            "notice_id;event;on_date;channel",
            f"{first};delivered;2026-04-08;",
            f"{second};sent;2026-04-02;post",
            f"{second};returned;2026-04-20;",
            f"{third};delivered;2026-04-09;",  # never sent: refused
            f"{third};sent;yesterday;",
        ]
    )
    r = await api.post(
        "/api/v1/monitoring/notices/journal",
        files={"file": ("journal.csv", journal.encode(), "text/csv")},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == 3
    assert [(x["line"], x["field"], x["rule"]) for x in r.json()["rejected_lines"]] == [
        (5, "event", "notice_transition"),
        (6, "on_date", "date_from_datetime_parsing"),
    ]
    state = {n["id"]: (n["status"], n["delivered_on"]) for n in (await api.get(
        f"/api/v1/monitoring/notice-runs/{run['id']}", headers=auth
    )).json()["notices"]}  # fmt: skip
    assert state == {first: ("delivered", "2026-04-08"), second: ("returned", None), third: ("created", None)}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    """A local SMTP server (aiosmtpd) collecting what it receives."""
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def mail_api(
    session: AsyncSession, database_url: str, smtp: tuple[_Inbox, int]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app configured with the local SMTP server."""
    app = create_app(
        make_settings(
            database_url,
            monitoring_smtp_host="127.0.0.1",
            monitoring_smtp_port=smtp[1],
            monitoring_smtp_from="debts@uk.example",
        )
    )

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client


async def test_post_notice_email_reaches_smtp_server_with_pdf(
    mail_api: httpx.AsyncClient, session: AsyncSession, smtp: tuple[_Inbox, int]
) -> None:
    org_id, auth = await _seeded(session)
    run = (await _run(mail_api, org_id, auth)).json()
    notice = run["notices"][0]
    r = await mail_api.post(
        f"/api/v1/monitoring/notices/{notice['id']}/email", json={"to": "ivanov@example.ru"}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["channel"]) == ("sent", "email")
    (message,) = smtp[0].messages
    assert message["To"] == "ivanov@example.ru" and message["From"] == "debts@uk.example"
    attachments = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1 and attachments[0].get_filename() == "notice-A1.pdf"
    payload = attachments[0].get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.startswith(b"%PDF-")
    twice = await mail_api.post(
        f"/api/v1/monitoring/notices/{notice['id']}/email", json={"to": "ivanov@example.ru"}, headers=auth
    )
    assert twice.status_code == 409 and len(smtp[0].messages) == 1
    bad = await mail_api.post(
        f"/api/v1/monitoring/notices/{notice['id']}/email", json={"to": "nobody"}, headers=auth
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.to"


async def test_written_off_months_leave_the_notices(api: httpx.AsyncClient, session: AsyncSession) -> None:
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import select

    from app.db.models.accounts import Account
    from app.db.models.writeoff import WriteOffAct, WriteOffLine

    org_id, auth = await _seeded(session)
    a6 = await session.scalar(
        select(Account.id).where(Account.account_number == "A6", Account.organisation_id == uuid.UUID(org_id))
    )
    act = WriteOffAct(
        organisation_id=uuid.UUID(org_id), status="posted", on_date=date(2026, 3, 1), principal=Decimal(5000),
        penalties=Decimal(0), duty=Decimal(0), created_by="key:clerk",
    )  # fmt: skip
    session.add(act)
    await session.flush()
    session.add(
        WriteOffLine(
            act_id=act.id, account_id=a6, period=date(2024, 3, 1), due_date=date(2024, 4, 10),
            ground="enforcement_closed", principal=Decimal(5000), penalties=Decimal(0), duty=Decimal(0),
        )
    )  # fmt: skip
    await session.flush()
    run = (await _run(api, org_id, auth)).json()
    # A6 owed only the written-off month: no longer a debtor, no notice.
    assert [n["account_number"] for n in run["notices"]] == ["A1", "A4"]


async def test_post_notice_run_leaves_out_months_written_off(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    ids = dict(
        (
            await session.execute(
                select(Account.account_number, Account.id).where(Account.organisation_id == uuid.UUID(org_id))
            )
        ).all()
    )
    # December 2025 of A1 (1000 ₽ unpaid) written off by a posted act; A6's only month by a draft: still owed.
    for status, number, period, due in (
        ("posted", "A1", date(2025, 12, 1), date(2026, 1, 10)),
        ("draft", "A6", date(2024, 3, 1), date(2024, 4, 10)),
    ):
        act = WriteOffAct(
            organisation_id=uuid.UUID(org_id), status=status, on_date=date(2026, 3, 1),
            principal=Decimal("1000"), penalties=Decimal("0"), duty=Decimal("0"), created_by="test",
        )  # fmt: skip
        session.add(act)
        await session.flush()
        session.add(
            WriteOffLine(
                act_id=act.id,
                account_id=ids[number],
                period=period,
                due_date=due,
                ground="limitation",
                principal=Decimal("1000"),
                penalties=Decimal("0"),
                duty=Decimal("0"),
            )  # fmt: skip
        )
    await session.flush()
    run = (await _run(api, org_id, auth)).json()
    # A1: only January's 500 is owed, 2 months overdue: below min_months_overdue 3, so no notice at all.
    assert [(n["account_number"], n["debt"]) for n in run["notices"]] == [("A4", "100.00"), ("A6", "5000.00")]
    relaxed = (
        await _run(api, org_id, auth, rules={**RULES, "min_months_overdue": 1, "noticed_within_days": 0})
    ).json()
    a1_notice = next(n for n in relaxed["notices"] if n["account_number"] == "A1")
    assert a1_notice["debt"] == "500.00" and [m["period"] for m in a1_notice["months"]] == ["2026-01-01"]


class _Shared:
    """Session factory handing out the test's session (a job's commits become flushes)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def __call__(self) -> _Shared:
        return self

    async def __aenter__(self) -> AsyncSession:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        await self.session.flush()


async def _app_client(session: AsyncSession, settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client


@pytest.fixture
async def queued_api(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with every notice run queued as an operation (inline limit 0)."""
    async for client in _app_client(session, make_settings(database_url, monitoring_notice_inline_limit=0)):
        yield client


async def test_post_notice_run_over_the_inline_limit_is_an_operation_with_progress(
    queued_api: httpx.AsyncClient, session: AsyncSession, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    from types import SimpleNamespace

    from app.db.models.core import Operation
    from app.domain.court.notice_runs import run_notice_run

    org_id, auth = await _seeded(session)
    r = await _run(queued_api, org_id, auth)
    assert r.status_code == 202, r.text
    run = r.json()
    assert (run["status"], run["notices"], run["total"]) == ("pending", [], 0)
    assert (run["operation"]["kind"], run["operation"]["status"]) == ("notice-run", "pending")
    assert run["operation"]["progress_total"] == 7 and run["operation_id"] == run["operation"]["id"]
    reader = bearer(await make_token(session, scopes=["read"], orgs=[uuid.UUID(org_id)], name="reader"))
    polled = await queued_api.get(f"/api/v1/operations/{run['operation_id']}", headers=reader)
    assert polled.status_code == 200 and polled.json()["status"] == "pending"

    early = await queued_api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/sms", headers=auth)
    assert early.status_code == 409 and early.json()["errors"][0]["rule"] == "run_not_done"
    to_gis = await queued_api.post(f"/api/v1/monitoring/notice-runs/{run['id']}/gis", json={}, headers=auth)
    assert to_gis.status_code == 409 and to_gis.json()["errors"][0]["rule"] == "run_not_done"
    op = await session.get(Operation, uuid.UUID(run["operation_id"]))
    assert op is not None
    steps: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None = None) -> None:
        steps.append((done, total))

    monkeypatch.setattr(session, "begin", contextlib.nullcontext)  # the job's transactions: the test's
    ctx = SimpleNamespace(
        sessionmaker=_Shared(session), settings=make_settings(database_url, monitoring_notice_chunk=3)
    )
    result = await run_notice_run(op, progress, ctx)  # type: ignore[arg-type]
    assert steps == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert result["notices"] == 3 and result["excluded"] == {"dispute": 1}
    done = (await queued_api.get(f"/api/v1/monitoring/notice-runs/{run['id']}", headers=auth)).json()
    assert done["status"] == "done"
    assert [n["account_number"] for n in done["notices"]] == ["A1", "A4", "A6"]


async def test_sms_and_email_lists_with_templated_texts_count_debtors_without_contacts(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org_id, auth = await _seeded(session)
    templates = {
        "sms": "Л/с {account_number}: долг {debt} на {on_date}. {payee}",
        "email_subject": "Долг по л/с {account_number}",
        "email_body": "{name}, долг {debt}, пени {penalties}, всего {total}.",
    }
    r = await _run(api, org_id, auth, templates=templates)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["contacts"] == {"with_phone": 2, "without_phone": 1, "with_email": 1, "without_email": 2}
    sms = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/sms", headers=auth)
    assert sms.status_code == 200 and sms.headers["x-notices-without-contact"] == "1"
    lines = list(csv.DictReader(io.StringIO(sms.text.lstrip("\ufeff")), delimiter=";"))
    assert [(x["seq"], x["account_number"], x["phone"], x["text"]) for x in lines] == [
        ("1", "A1", "+79120000001", "Л/с A1: долг 1\u00a0500,00 ₽ на 31.03.2026. ООО «УК Тестовая»"),
        ("2", "A4", "+79120000004", "Л/с A4: долг 100,00 ₽ на 31.03.2026. ООО «УК Тестовая»"),
    ]
    emails = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/emails", headers=auth)
    assert emails.status_code == 200 and emails.headers["x-notices-without-contact"] == "2"
    (line,) = csv.DictReader(io.StringIO(emails.text.lstrip("\ufeff")), delimiter=";")
    penalties = Decimal(run["notices"][0]["penalties"])
    assert (line["account_number"], line["email"], line["subject"]) == (
        "A1",
        "a1@example.ru",
        "Долг по л/с A1",
    )
    assert line["text"].startswith("Иванов Иван, долг 1\u00a0500,00 ₽, пени ")
    assert line["text"].endswith(f"всего {documents.rub(Decimal(1500) + penalties)}.")
    no_pii = bearer(await make_token(session, scopes=["court"], all_orgs=True, name="no-pii"))
    for kind in ("sms", "emails"):
        refused = await api.get(f"/api/v1/monitoring/notice-runs/{run['id']}/{kind}", headers=no_pii)
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("templates", "path", "rule"),
    [
        ({"sms": "Долг {debt}, СНИЛС {snils}"}, "body.templates.sms", "unknown_placeholder"),
        ({"sms": "{name}, долг {debt}"}, "body.templates.sms", "unknown_placeholder"),  # no names in SMS
        ({"email_body": "долг {debt:>20}"}, "body.templates.email_body", "template_syntax"),
        ({"email_subject": "долг {debt"}, "body.templates.email_subject", "template_syntax"),
        ({"sms": "x" * 110 + " {account_number}"}, "body.templates.sms", "sms_too_long"),
        ({"fax": "…"}, "body.templates.fax", "extra_forbidden"),
    ],
)
async def test_post_notice_run_refuses_bad_templates_naming_the_field(
    api: httpx.AsyncClient, session: AsyncSession, templates: dict[str, str], path: str, rule: str
) -> None:
    org_id, auth = await _seeded(session)
    r = await _run(api, org_id, auth, templates=templates)
    assert r.status_code == 422, r.text
    assert [(e["path"], e["rule"]) for e in r.json()["errors"]] == [(path, rule)]


async def test_post_notice_email_defaults_to_the_accounts_email_and_the_run_template(
    mail_api: httpx.AsyncClient, session: AsyncSession, smtp: tuple[_Inbox, int]
) -> None:
    org_id, auth = await _seeded(session)
    run = (await _run(mail_api, org_id, auth, templates={"email_subject": "Л/с {account_number}"})).json()
    a1, a4 = run["notices"][0], run["notices"][1]
    r = await mail_api.post(f"/api/v1/monitoring/notices/{a1['id']}/email", json={}, headers=auth)
    assert r.status_code == 200, r.text
    (message,) = smtp[0].messages
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert (message["To"], subject) == ("a1@example.ru", "Л/с A1")
    none = await mail_api.post(f"/api/v1/monitoring/notices/{a4['id']}/email", json={}, headers=auth)
    assert none.status_code == 422
    assert [(e["path"], e["rule"]) for e in none.json()["errors"]] == [("body.to", "no_email")]
    assert len(smtp[0].messages) == 1
