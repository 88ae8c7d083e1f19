"""End to end over real HTTP with the gateway's workers: accounts imported, packages drafted, the signed
export run by the operations queue, each court's ZIP downloaded and every `.sig` verified by OpenSSL."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import uuid
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.domain.accounts import account_id_for
from tests.e2e.conftest import GatewayHandle
from tests.e2e.court_support import import_accounts, ledger, months_before, person
from tests.factories import COURTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.openssl,
    pytest.mark.skipif(
        shutil.which("openssl") is None
        or not Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf").is_file(),
        reason="openssl or DejaVu fonts missing",
    ),
]

ON = date.today() - timedelta(days=30)


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """Court table, uploads and packages in the test's folder."""
    return {
        "upload_dir": tmp_path / "uploads",
        "court_courts": COURTS,
        "court_packages_dir": tmp_path / "packages",
    }


def _verify(folder: Path, data: bytes, signature: bytes) -> bool:
    (folder / "f").write_bytes(data)
    (folder / "f.sig").write_bytes(signature)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-engine", "gost", "-inform", "DER", "-binary",
         "-content", str(folder / "f"), "-noverify", "-in", str(folder / "f.sig"), "-out", "/dev/null"],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


async def test_signed_packages_through_the_queue(gateway: GatewayHandle, tmp_path: Path) -> None:
    client = gateway.client
    org = await gateway.new_org(region_code="16")
    rng = random.Random(5)
    rows = [
        {
            "account_number": f"E2E-{i}",
            "payer": person(rng),
            "premises": [
                {
                    "fias_house_guid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "address": f"Респ. Татарстан, г. Казань, ул. Баумана, д. {i + 1}",
                    "region": "16",
                    "number": str(10 + i),
                    "kind": "apartment",
                }
            ],
            "ledger": ledger(months_before(ON, 18, skip=1), Decimal(rng.randint(1500, 4500))),
        }
        for i in range(4)
    ]
    await import_accounts(gateway, org["id"], rows, tmp_path)
    ids = [str(account_id_for(uuid.UUID(org["id"]), r["account_number"])) for r in rows]
    pkg = await client.post(
        "/api/v1/court-orders/packages",
        json={"organisation_id": org["id"], "account_ids": ids, "on_date": ON.isoformat()},
    )
    assert pkg.status_code == 202, pkg.text
    packaged = await gateway.wait_operation(pkg.json())
    assert packaged["result"]["cases"] == 4

    export = await client.post(f"/api/v1/court-orders/packages/{pkg.json()['id']}/exports", json={})
    assert export.status_code == 202, export.text
    done = await gateway.wait_operation(export.json())
    [archive] = done["result"]["archives"]
    assert archive["cases"] == 4 and archive["district"] == "3"
    r = await client.get(archive["url"])
    assert r.status_code == 200
    work = tmp_path / "verify"
    work.mkdir()
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        files = [n for n in names if not n.endswith(".sig")]
        assert len([n for n in files if n.endswith(".pdf")]) == 12
        for name in files:
            assert _verify(work, zf.read(name), zf.read(f"{name}.sig")), name
        first = next(n for n in files if n.endswith("application.pdf"))
        assert not _verify(work, zf.read(first) + b"\n%tampered", zf.read(f"{first}.sig"))
