"""`gisgw court ...`: court-order work from the command line (readiness of an organisation's accounts)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Annotated, Any, Literal

import typer

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Organisation
from app.domain.court.readiness import create_run, execute_run
from app.domain.court.rules import court_rules
from app.domain.kernel.calendar import moscow_today
from app.settings import Settings, get_settings

court_app = typer.Typer(
    help="Court orders: readiness of debtors from the command line.", no_args_is_help=True
)


async def readiness_summary(
    settings: Settings, organisation_id: uuid.UUID, on_date: date, group_by: Literal["account", "debtor"]
) -> dict[str, Any]:
    """Run (and store) a readiness run over every account of the organisation; return its counts."""
    engine = create_engine(settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if await session.get(Organisation, organisation_id) is None:
                raise LookupError(f"organisation {organisation_id} not found")
            run = await create_run(
                session=session,
                organisation_id=organisation_id,
                on_date=on_date,
                group_by=group_by,
                account_ids=None,
            )
            await execute_run(
                session=session, run=run, rules=court_rules(settings), chunk=settings.court.readiness_chunk
            )
            return {
                "run_id": str(run.id),
                "organisation_id": str(organisation_id),
                "on_date": on_date.isoformat(),
                "total": run.total,
                "ready": run.ready,
                "blocked": run.blocked,
                "blockers": run.blockers or {},
            }
    finally:
        await engine.dispose()


@court_app.command("readiness")
def readiness_command(
    org: Annotated[uuid.UUID, typer.Option("--org", help="organisation id")],
    on_date: Annotated[
        str | None, typer.Option("--on-date", help="calculation date YYYY-MM-DD (today)")
    ] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="account or debtor")] = "account",
) -> None:
    """Check every account of an organisation for a court order; print the counts as JSON (no PII)."""
    if group_by not in ("account", "debtor"):
        typer.echo("error: --group-by must be account or debtor", err=True)
        raise typer.Exit(2)
    try:
        day = date.fromisoformat(on_date) if on_date else moscow_today()
    except ValueError:
        typer.echo("error: --on-date must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    try:
        mode: Literal["account", "debtor"] = "debtor" if group_by == "debtor" else "account"
        summary = asyncio.run(readiness_summary(get_settings(), org, day, mode))
    except LookupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
