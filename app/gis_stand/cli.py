"""`gisgw stand ...`: serve the GIS stand, seed it with demo data."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from app.settings import get_settings

stand_app = typer.Typer(
    help="GIS ZhKKh stand (emulator): `gisgw stand --port 8081` serves it; `seed` fills it.",
    invoke_without_command=True,
)


@stand_app.callback()
def main(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="bind address (GISGW_STAND_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="bind port (GISGW_STAND_PORT)")] = None,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="GOST TLS (GISGW_STAND_TLS)")] = None,
) -> None:
    """Serve the stand when no sub-command is given."""
    if ctx.invoked_subcommand is None:
        serve(host=host, port=port, tls=tls)


@stand_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (GISGW_STAND_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="bind port (GISGW_STAND_PORT)")] = None,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="GOST TLS (GISGW_STAND_TLS)")] = None,
) -> None:
    """Start the stand alone over HTTP, or over GOST TLS with client certificates (--tls)."""
    import uvicorn

    from app.gis_stand.app import create_stand_app
    from app.gis_stand.config import StandConfig
    from app.gis_stand.server import stand_config
    from app.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log.level, json_logs=settings.log.json_logs)
    bind = host or settings.stand.host
    config = StandConfig.from_settings(
        settings, tls=settings.stand.tls if tls is None else tls, tls_host=bind
    )
    app = create_stand_app(config)
    tls_state = app.state.stand.tls
    if tls_state is not None:
        typer.echo(f"stand TLS server certificate (pin it as GISGW_GIS_TLS_CA_FILE): {tls_state.cert_path}")
    # uvicorn's access line carries the raw query string; the stand app's AccessLogMiddleware logs instead.
    uvicorn.Server(stand_config(app, bind, port or settings.stand.port, access_log=False)).run()


@stand_app.command("seed")
def seed_command(
    orgs: Annotated[int, typer.Option(help="organisations (management companies)")] = 1,
    subrequests: Annotated[int, typer.Option(help="debt subrequests addressed to the first one")] = 100,
    accounts: Annotated[int, typer.Option(help="personal accounts (one per flat)")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = 1,
    org_ppa_guid: Annotated[str | None, typer.Option(help="orgPPAGUID of the first organisation")] = None,
    cert: Annotated[typer.FileText | None, typer.Option(help="PEM certificate to register for it")] = None,
) -> None:
    """Fill the stand's database (GISGW_STAND_DATABASE_URL) with deterministic demo data."""
    from app.db.engine import create_engine
    from app.gis_stand.models import StandBase
    from app.gis_stand.seed import seed as run_seed

    async def run() -> dict[str, object]:
        engine = create_engine(get_settings().stand.database_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(StandBase.metadata.create_all)
            summary = await run_seed(
                engine,
                orgs=orgs,
                accounts=accounts,
                subrequests=subrequests,
                seed=seed,
                org_ppa_guid=org_ppa_guid,
                cert_pem=cert.read() if cert is not None else None,
            )
            return summary.as_dict()
        finally:
            await engine.dispose()

    typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=2))
