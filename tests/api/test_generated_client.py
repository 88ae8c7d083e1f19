"""A Python client generated from the committed spec (openapi-python-client) works against the live app."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
import uuid
from pathlib import Path

from app.db.engine import create_engine, create_sessionmaker
from app.main import create_app
from app.settings import REPO_ROOT
from tests.conftest import make_settings, new_database
from tests.factories import make_token
from tests.live import serve_in_thread


def _generate(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("package_name_override: gisgw_client\npost_hooks: []\n", encoding="utf-8")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(REPO_ROOT / "openapi" / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "gisgw_client"),
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_generated_client_runs_a_flow(tmp_path: Path) -> None:
    _generate(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module("gisgw_client.client")
        create = importlib.import_module("gisgw_client.api.organisations.organisations_create_organisation")
        get = importlib.import_module("gisgw_client.api.organisations.organisations_get_organisation")
        listing = importlib.import_module("gisgw_client.api.organisations.organisations_list_organisations")
        models = importlib.import_module("gisgw_client.models")

        async def prepare() -> tuple[str, str]:
            url = await new_database(tmp_path)
            engine = create_engine(url)
            async with create_sessionmaker(engine)() as session:
                token = await make_token(session, all_orgs=True)
                await session.commit()
            await engine.dispose()
            return url, token

        url, token = asyncio.run(prepare())
        with serve_in_thread(create_app(make_settings(url))) as base_url:
            client = client_mod.AuthenticatedClient(base_url=base_url, token=token)
            body = models.OrganisationCreate(
                name="ООО «УК Генерированная»",
                inn="7701234567",
                org_type=models.OrganisationCreateOrgType("resource_supplier"),
                ppa_guid=uuid.uuid4(),
            )
            created = create.sync(client=client, body=body)
            assert isinstance(created, models.OrganisationRead), created
            fetched = get.sync(client=client, organisation_id=created.id)
            assert fetched.name == "ООО «УК Генерированная»"
            page = listing.sync(client=client)
            assert [o.id for o in page.items] == [created.id]
            problem = get.sync_detailed(client=client, organisation_id=uuid.uuid4())
            assert problem.status_code == 404
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("gisgw_client")]:
            del sys.modules[name]
