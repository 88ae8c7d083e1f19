"""Bench: a notice run over N accounts selecting one debtor in 20, run as the operation a worker runs, with
the run's PDF and its SMS and e-mail lists, against a floor (target: 200,000 accounts, 10,000 notices with
PDFs ≤ 2 min).

    .venv/bin/python bench/bench_notices.py --accounts 200000                                # SQLite file
    scripts/with-postgres.sh .venv/bin/python bench/bench_notices.py --accounts 200000 --pg  # PostgreSQL

Seeds one organisation with deterministic accounts (12 ledger months each; every 20th account owes its last
four months, the others paid everything; every 40th has a phone, every 80th an e-mail), then times
- gisgw: `POST …/notice-runs` over the inline limit as the route does it (`notices.request_run`: the run and
  its operation queued), the operation claimed and run as a worker runs it (`run_notice_run`: committed steps
  of `GISGW_MONITORING_NOTICE_CHUNK` accounts with the cursor, progress written to the operation after each
  step, the selection by rules, penalties per month, the notices stored), the run's batch PDF as
  `GET …/notice-runs/{id}/pdf` builds it (addressees read, one page per notice, fpdf2) and its SMS and e-mail
  lists as `GET …/sms` and `GET …/emails` build them;
- floor: the same accounts-and-ledgers SELECT fetched in full, and fpdf2 rendering as many pages of the
  notice's text and table with its own calls (multi_cell for paragraphs), without any of our logic;
and prints `notices: gisgw <s>, floor <s>, ratio <r>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fpdf import FPDF
from sqlalchemy import insert, select

from app.db.base import utcnow
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Organisation
from app.domain.accounts.ledger import encode_months
from app.domain.court.notice_runs import run_notice_run
from app.domain.court.rules import court_rules
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM
from app.domain.kernel.penalties import due_date_for
from app.domain.monitoring import contact_lists, documents, notices
from app.settings import Settings

ON = date(2026, 3, 31)
MONTHS = 12
PAYMENT = notices.PaymentDetails(
    payee="ООО «УК Бенч»",
    inn="1655000000",
    bank="ПАО Сбербанк",
    bik="044525225",
    account="40702810938000000001",
)
#: The notice page's paragraphs (app/domain/monitoring/documents.py) with typical values.
PARAGRAPHS = (
    "По состоянию на 31 марта 2026 г. за Вами числится задолженность по оплате жилищно-коммунальных услуг в "
    "размере 6 005,00 ₽, пени (ЖК РФ ст. 155 ч. 14) — 49,36 ₽.",
    "Просим погасить задолженность. Реквизиты для оплаты: ООО «УК Бенч», ИНН 1655000000, р/с "
    "40702810938000000001 в ПАО Сбербанк, БИК 044525225, назначение платежа: оплата ЖКУ по лицевому счёту "
    "№ N000000000.",
    "При неоплате задолженности организация вправе обратиться в суд с заявлением о выдаче судебного приказа "
    "о взыскании долга, пеней и судебных расходов (ГПК РФ гл. 11), а также после предупреждения ограничить "
    "или приостановить предоставление коммунальной услуги (Правила, утв. постановлением Правительства РФ от "
    "06.05.2011 № 354, п. 117–119). Если задолженность уже погашена, не учитывайте это уведомление.",
)
RULES = notices.NoticeRules(min_debt=Decimal("100.00"), min_months_overdue=2, noticed_within_days=0)


def _periods() -> list[date]:
    out, y, m = [], ON.year, ON.month
    for _ in range(MONTHS):
        out.append(date(y, m, 1))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return sorted(out)


async def seed(url: str, accounts: int) -> uuid.UUID:
    """Insert one organisation with `accounts` accounts (100 a house), one in 20 owing four months."""
    engine = create_engine(url)
    org_id = uuid.uuid4()
    periods = _periods()
    dues = [due_date_for(p) for p in periods]
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(
            insert(Organisation),
            [{"id": org_id, "name": "Bench УК", "inn": "1655000000", "org_type": "management_company",
              "ppa_guid": uuid.uuid4(), "region_code": "16", "created_at": now, "updated_at": now}],
        )  # fmt: skip
    chunk = 5000
    house_id = uuid.uuid4()
    for start in range(0, accounts, chunk):
        houses, flats, accs, links, ledger = [], [], [], [], []
        for i in range(start, min(start + chunk, accounts)):
            if i % 100 == 0:
                house_id = uuid.uuid4()
                houses.append({"id": house_id, "fias_house_guid": uuid.uuid4(), "region": "16",
                               "address": f"г. Казань, ул. Баумана, д. {i // 100 + 1}",
                               "created_at": now, "updated_at": now})  # fmt: skip
            pid, aid = uuid.uuid4(), uuid.uuid4()
            flats.append({"id": pid, "house_id": house_id, "number_raw": str(i % 100 + 1),
                          "number_norm": str(i % 100 + 1), "kind": "apartment", "residential": True,
                          "created_at": now, "updated_at": now})  # fmt: skip
            accs.append({"id": aid, "organisation_id": org_id, "account_number": f"N{i:09d}",
                         "payer_kind": "person", "closed": False, "dispute": False, "bankruptcy": False,
                         "last_name": "Иванов", "first_name": "Иван", "middle_name": "Иванович",
                         "phone": f"+79{i:09d}" if i % 40 == 0 else None,
                         "email": f"n{i}@example.ru" if i % 80 == 0 else None,
                         "created_at": now, "updated_at": now})  # fmt: skip
            links.append({"account_id": aid, "premises_id": pid})
            debtor = i % 20 == 0
            months = []
            for k, (p, due) in enumerate(zip(periods, dues, strict=True)):
                charged = Decimal(1500 + (i % 700)) + Decimal(k) / 4
                paid = Decimal(0) if debtor and k >= MONTHS - 4 else charged
                months.append((p, charged, paid, due))
            ledger.append({"account_id": aid, "months": encode_months(months)})
        async with engine.begin() as conn:
            if houses:
                await conn.execute(insert(House), houses)
            await conn.execute(insert(Premises), flats)
            await conn.execute(insert(Account), accs)
            await conn.execute(insert(AccountPremises), links)
            await conn.execute(insert(AccountLedger), ledger)
    await engine.dispose()
    return org_id


async def gisgw(url: str, org_id: uuid.UUID, settings: Settings) -> tuple[float, float, int, int, int]:
    """Time the run as an operation, its batch PDF and its lists; return (s, CPU s, notices, PDF bytes,
    list lines)."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    started, cpu = time.perf_counter(), time.process_time()
    async with sessionmaker() as session, session.begin():
        run, queued = await notices.request_run(
            session=session,
            principal=SYSTEM,
            organisation_id=org_id,
            rules=RULES,
            payment_details=PAYMENT,
            on_date=ON,
            penalty_rules=court_rules(settings).penalty,
            templates=contact_lists.NoticeTemplates().model_dump(),
            inline_limit=0,
        )
        assert queued is not None
    async with sessionmaker() as session:
        op = await ops.claim_next(session=session, kinds=[notices.RUN_JOB])
        await session.commit()
    assert op is not None and op.id == queued.id
    ctx = SimpleNamespace(sessionmaker=sessionmaker, settings=settings)
    result = await run_notice_run(op, ops.Progress(sessionmaker, op.id, op.kind), ctx)  # type: ignore[arg-type]
    async with sessionmaker() as session, session.begin():
        await ops.finish(op.id, session=session, result=result, error=None)
    async with sessionmaker() as session:
        run = await notices.get_run(session=session, principal=SYSTEM, run_id=run.id)
        items = await notices.list_notices(session=session, run_id=run.id)
        org = await session.get(Organisation, org_id)
        assert org is not None
        to = await notices.addressees(session, [n.account_id for n in items])
        pdf = documents.notices_pdf(
            org=org,
            run=run,
            notices=items,
            addressees=to,
            font=settings.monitoring.notice_font,
            bold_font=settings.monitoring.notice_bold_font,
        )
        reach = await contact_lists.contacts(session, [n.account_id for n in items])
        sms, _ = contact_lists.sms_csv(run, items, reach, settings.monitoring.notice_sms_max_length)
        emails, _ = contact_lists.email_csv(run, items, reach, to)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    lines = sms.count("\r\n") + emails.count("\r\n") - 2
    return elapsed, cpu, len(items), len(pdf), lines


async def floor(url: str, org_id: uuid.UUID, pages: int, settings: Settings) -> tuple[float, float]:
    """Time the same selection SELECT (fetched in full) and fpdf2 rendering `pages` comparable pages."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    started, cpu = time.perf_counter(), time.process_time()
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    Account.id,
                    Account.account_number,
                    Account.dispute,
                    Account.bankruptcy,
                    AccountLedger.months,
                )
                .join(AccountLedger, AccountLedger.account_id == Account.id)
                .where(Account.organisation_id == org_id)
                .order_by(Account.account_number)
            )
        ).all()
    assert rows
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("main", "", str(settings.monitoring.notice_font))
    pdf.add_font("main", "B", str(settings.monitoring.notice_bold_font))
    nl: dict[str, Any] = {"new_x": "LMARGIN", "new_y": "NEXT"}
    for n in range(pages):  # the notice page's text, written with fpdf2's own paragraph call (multi_cell)
        pdf.add_page()
        pdf.set_font("main", size=10)
        pdf.multi_cell(0, 5, "Bench УК\nИНН 1655000000", align="R", **nl)
        to = f"Кому: Иванов Иван Иванович\nАдрес: г. Казань, ул. Баумана, д. 1, пом. 1\nЛицевой счёт № {n}"
        pdf.multi_cell(0, 5, to, **nl)
        pdf.set_font("main", "B", 13)
        pdf.cell(0, 8, "УВЕДОМЛЕНИЕ О ЗАДОЛЖЕННОСТИ", align="C", **nl)
        pdf.set_font("main", size=10)
        pdf.cell(0, 6, f"№ {n + 1} от 31 марта 2026 г.", align="C", **nl)
        pdf.multi_cell(0, 5, PARAGRAPHS[0], **nl)
        pdf.set_font("main", size=9)
        for m in range(4):
            pdf.cell(40, 6, f"{m + 1:02d}.2026", border=1, align="C")
            pdf.cell(45, 6, "1 500,00 ₽", border=1, align="R")
            pdf.cell(45, 6, str(4 - m), border=1, align="C")
            pdf.cell(45, 6, "12,34 ₽", border=1, align="R", **nl)
        pdf.set_font("main", size=10)
        pdf.multi_cell(0, 5, PARAGRAPHS[1], **nl)
        pdf.multi_cell(0, 5, PARAGRAPHS[2], **nl)
    data = bytes(pdf.output())
    assert data.startswith(b"%PDF")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    return elapsed, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--pg", action="store_true", help="use GISGW_TEST_DATABASE_URL (with-postgres.sh)")
    args = parser.parse_args()
    if args.pg:
        from tests.conftest import _create_pg_database

        url = await _create_pg_database(os.environ["GISGW_TEST_DATABASE_URL"])
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench-notices.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(_env_file=None, database={"url": url})  # type: ignore[call-arg]
    t0 = time.perf_counter()
    org_id = await seed(url, args.accounts)
    seeded = time.perf_counter() - t0
    ours, ours_cpu, count, size, lines = await gisgw(url, org_id, settings)
    base, base_cpu = await floor(url, org_id, count, settings)
    backend = "postgresql" if args.pg else "sqlite"
    print(f"backend={backend} accounts={args.accounts} notices={count} pdf={size / 1e6:.1f} MB", end=" ")
    print(f"list_lines={lines}", end=" ")
    print(f"seed={seeded:.1f}s")
    print(f"notices: gisgw {ours:.1f}s, floor {base:.1f}s, ratio {ours / base:.2f}")
    # This process's CPU (not PostgreSQL's): less noisy on a shared machine.
    print(f"notices cpu: gisgw {ours_cpu:.1f}s, floor {base_cpu:.1f}s, ratio {ours_cpu / base_cpu:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
