"""The `gisgw` command: serve, database migrations, the OpenAPI spec, API keys, GIS tools and the stand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.settings import REPO_ROOT, Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="gisgw: gateway between billing systems and GIS ZhKKh.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


def _prepare_crypto() -> None:
    # OPENSSL_CONF must be set before OpenSSL initialises (first hashlib/ssl use), so do it first thing.
    try:
        from app.gis_client.crypto.openssl_setup import configure_openssl
    except ImportError:  # pragma: no cover - during bootstrap only
        return
    configure_openssl()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (GISGW_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="bind port (GISGW_PORT)")] = None,
) -> None:
    """Start the gateway HTTP server (and the embedded stand when GISGW_STAND_ENABLED)."""
    import uvicorn

    from app.logs import configure_logging
    from app.main import create_app

    settings = get_settings()
    configure_logging(settings.log.level, json_logs=settings.log.json_logs)
    uvicorn.run(
        create_app(settings),
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_config=None,
        access_log=False,  # uvicorn's line carries the raw query string; AccessLogMiddleware logs instead
        timeout_graceful_shutdown=30,
    )


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="gateway port (GISGW_PORT)")] = None,
) -> None:
    """Seed demo data, then serve the gateway with the embedded GIS stand (what `make run` does)."""
    settings = demo_settings()

    from app.demo import seed_all

    token = asyncio.run(seed_all(settings))
    base = f"http://{settings.server.host}:{port or settings.server.port}"
    typer.echo(
        f"\n  gisgw demo: gateway {base}  (GIS stand on http://{settings.stand.host}:{settings.stand.port})\n"
        f"  demo API key (all scopes): {token}\n"
        f"  try: curl -H 'Authorization: Bearer {token}' {base}/api/v1/organisations\n"
        f"  dashboard: {base}/dashboard   API docs: {base}/docs\n"
    )
    serve(host=None, port=port)


def demo_settings() -> Settings:
    """Return the demo's settings: the embedded stand on, and GIS pointed at it (GISGW_STAND_HOST/PORT)."""
    import os

    from app.demo import DEMO_COURTS_FILE

    os.environ.setdefault("GISGW_STAND_ENABLED", "true")
    get_settings.cache_clear()
    settings = get_settings()
    if "courts_file" not in settings.court.model_fields_set and not settings.court.courts:
        # Without a court table readiness blocks every debtor: the demo ships one for the stand's cities.
        os.environ["GISGW_COURT_COURTS_FILE"] = DEMO_COURTS_FILE
    if "base_url" not in settings.gis.model_fields_set:
        # The demo's GIS is its embedded stand: follow its port unless GIS was named explicitly.
        os.environ["GISGW_GIS_BASE_URL"] = f"http://{settings.stand.host}:{settings.stand.port}"
    get_settings.cache_clear()
    return get_settings()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from app.db.migrate import upgrade

    upgrade(get_settings().database.url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from app.db.migrate import downgrade

    downgrade(get_settings().database.url, revision)
    typer.echo(f"database at {revision}")


def render_openapi() -> str:
    """Return the app's OpenAPI document as stable, pretty JSON."""
    from app.main import create_app
    from app.settings import Settings, WorkersSettings

    spec = create_app(Settings(workers=WorkersSettings(enabled=False))).openapi()
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@app.command()
def openapi(
    out: Annotated[Path, typer.Option(help="where to write the spec")] = REPO_ROOT
    / "openapi"
    / "openapi.json",
) -> None:
    """Write the OpenAPI spec (committed as openapi/openapi.json)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_openapi(), encoding="utf-8")
    typer.echo(f"wrote {out}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who the key is for")],
    scope: Annotated[list[str], typer.Option(help="scope; repeat: read answer send court admin pii")],
    org: Annotated[list[uuid.UUID] | None, typer.Option(help="organisation id; repeat")] = None,
    all_orgs: Annotated[bool, typer.Option("--all-orgs", help="bind to every organisation")] = False,
) -> None:
    """Create an API key and print it once."""
    from app.domain.kernel.access import create_key

    async def run() -> str:
        async with _session() as session:
            created = await create_key(
                session=session,
                name=name,
                scopes=scope,
                organisation_ids=org or [],
                all_organisations=all_orgs,
            )
            await session.commit()
            return created.token

    typer.echo(asyncio.run(run()))


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from app.domain.kernel.access import list_keys

    async def run() -> list[str]:
        async with _session() as session:
            return [
                f"{k.id}  {k.name:<24} {','.join(k.scopes):<36} "
                f"{'revoked' if k.revoked_at else 'active'}  gk_{k.prefix}_…"
                for k in await list_keys(session=session)
            ]

    for line in asyncio.run(run()):
        typer.echo(line)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="key id from `gisgw keys list`")]) -> None:
    """Revoke a key."""
    from app.domain.kernel.access import revoke_key

    async def run() -> None:
        async with _session() as session:
            await revoke_key(session=session, key_id=key_id)
            await session.commit()

    asyncio.run(run())
    typer.echo(f"revoked {key_id}")


@contextlib.asynccontextmanager
async def _session() -> AsyncIterator[AsyncSession]:
    """Open an async session on the configured database for one CLI command."""
    from app.db.engine import create_engine, create_sessionmaker

    engine = create_engine(get_settings().database.url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _register_optional() -> None:
    # Sub-commands of other areas; each module defines a typer app.
    try:
        from app.gis_client.cli import gis_app
    except ImportError:
        pass
    else:
        app.add_typer(gis_app, name="gis", help="GIS message tools: keygen, sign, verify, validate.")
    try:
        from app.gis_stand.cli import stand_app
    except ImportError:
        pass
    else:
        app.add_typer(stand_app, name="stand")
    try:
        from app.domain.court.cli import court_app
    except ImportError:
        pass
    else:
        app.add_typer(court_app, name="court")


_register_optional()


def main() -> None:
    """Entry point of the `gisgw` console script."""
    _prepare_crypto()
    app()
