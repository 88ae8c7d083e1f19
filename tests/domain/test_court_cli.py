"""`gisgw court readiness`: a stored readiness run over an organisation's accounts, counts as JSON."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.accounts import Account, AccountLedger
from app.domain.accounts.ledger import encode_months
from app.domain.court.cli import readiness_summary
from app.domain.kernel.penalties import due_date_for
from tests.conftest import make_settings
from tests.factories import make_org


async def test_readiness_summary_counts_blockers(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            org = await make_org(session)
            for n, dispute in enumerate((False, True)):
                account = Account(
                    id=uuid.uuid4(), organisation_id=org.id, account_number=f"A{n}", payer_kind="person",
                    last_name="Петров", first_name="Пётр", dispute=dispute,
                )  # fmt: skip
                session.add(account)
                await session.flush()
                period = date(2025, 3, 1)
                months = encode_months([(period, Decimal("1000"), 0, due_date_for(period))])
                session.add(AccountLedger(account_id=account.id, months=months))
            org_id = org.id
    finally:
        await engine.dispose()
    summary = await readiness_summary(make_settings(fresh_database_url), org_id, date(2025, 11, 1), "account")
    assert (summary["total"], summary["ready"], summary["blocked"]) == (2, 0, 2)
    # No birth data, no identifier, no court table: every case says so; one is disputed as well.
    assert summary["blockers"]["dispute"] == 1 and summary["blockers"]["debtor_birth_date"] == 2
    with pytest.raises(LookupError):
        await readiness_summary(make_settings(fresh_database_url), uuid.uuid4(), date(2025, 11, 1), "account")


def test_cli_validates_options() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["court", "readiness", "--org", str(uuid.uuid4()), "--group-by", "house"])
    assert bad.exit_code == 2 and "account or debtor" in bad.output
    helped = runner.invoke(app, ["court", "readiness", "--help"])
    assert helped.exit_code == 0 and "--on-date" in helped.output
