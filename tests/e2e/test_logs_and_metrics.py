"""A full debt-request run through a real `gisgw serve` process: no personal data in its logs, and the
Prometheus series operators rely on are exposed afterwards."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from sqlalchemy import select

from app.demo import billing_rows
from app.domain.kernel.calendar import moscow_today as today
from app.domain.kernel.snils import format_snils, random_valid_snils
from app.gis_stand.models import Account, House, Org, Premises
from app.gis_stand.server import free_port
from app.settings import REPO_ROOT
from tests.conftest import SCHEMA_DIR
from tests.e2e.conftest import KeyFiles, StandHandle, admin_token, gateway_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _spellings(values: set[str]) -> set[str]:
    """Every way a value can reach a log: plain, with `+` or `%20` for spaces, percent-encoded (Cyrillic)."""
    out: set[str] = set()
    for value in values:
        out |= {value, value.replace(" ", "+"), value.replace(" ", "%20"), quote(value), quote_plus(value)}
        out |= {quote(value).lower(), quote_plus(value).lower()}
    return out


def _person_searches(snils: list[str], names: list[tuple[str, str, str]]) -> list[str]:
    """Account searches by SNILS and by name, written the ways clients write them."""
    paths = []
    for number, (last, first, middle) in zip(snils, names, strict=True):
        grouped = format_snils(number)
        paths += [
            f"/api/v1/accounts?snils={number}",
            f"/api/v1/accounts?snils={grouped.replace(' ', '+')}",
            f"/api/v1/accounts?snils={quote(grouped)}",
            f"/api/v1/accounts?last_name={quote(last)}&first_name={quote_plus(first)}&middle_name={middle}"
            "&birth_date=1970-01-01",
        ]
    return paths


DEFENDANTS = [("Кузнецова", "Аграфена", "Ильинична"), ("Светлицкий", "Евлампий", "Назарович")]


async def _stand_billing_file(stand: StandHandle, ppa_guid: str) -> tuple[bytes, set[str]]:
    """The stand's accounts of an organisation as a billing import file, and the payers' personal data."""
    async with stand.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Account, House.fias_guid, House.address, Premises.number)
                .join(House, House.id == Account.house_id)
                .join(Org, Org.id == Account.org_id)
                .outerjoin(Premises, Premises.id == Account.premises_id)
                .where(Org.ppa_guid == ppa_guid)
            )
        ).all()
    pii = {acc.snils for acc, *_ in rows} | {acc.surname for acc, *_ in rows if len(acc.surname) > 4}
    lines = [json.dumps(r, ensure_ascii=False) for r in billing_rows(list(rows), today())]
    return ("\n".join(lines) + "\n").encode(), pii


async def test_full_run_keeps_personal_data_out_of_logs(
    stand: StandHandle, e2e_keys: KeyFiles, fresh_database_url: str, gateway_process: Any
) -> None:
    values = gateway_settings(fresh_database_url, stand.base_url, e2e_keys)
    values.update(log_level="DEBUG", log_json=True)
    proc = gateway_process(values)
    await proc.ready()
    token = await admin_token(fresh_database_url)
    rng = random.Random(11)
    snils = [random_valid_snils(rng) for _ in DEFENDANTS]
    async with httpx.AsyncClient(
        base_url=proc.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:

        async def wait(op: dict[str, Any]) -> dict[str, Any]:
            for _ in range(1200):
                data: dict[str, Any] = (await client.get(f"/api/v1/operations/{op['id']}")).json()
                if data["status"] in ("succeeded", "failed"):
                    assert data["status"] == "succeeded", data
                    return data
                await __import__("asyncio").sleep(0.1)
            raise AssertionError(f"operation {op['id']} did not finish")

        org = (
            await client.post(
                "/api/v1/organisations",
                json={
                    "name": "ООО «УК Журнальная»",
                    "inn": "7701234567",
                    "org_type": "management_company",
                    "ppa_guid": "3d7b1c2a-9e8f-4a6b-8c5d-2e1f0a9b8c7d",
                    "executor_guid": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
                },
            )
        ).json()
        await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=40, accounts=120)
        billing, payer_pii = await _stand_billing_file(stand, org["ppa_guid"])
        imported = await client.post(
            "/api/v1/accounts/imports",
            data={"organisation_id": org["id"], "format": "jsonl"},
            files={"file": ("accounts.jsonl", billing, "application/x-ndjson")},
        )
        assert imported.status_code == 202, imported.text
        report = await wait(imported.json())
        assert report["result"]["applied"] == 120, report

        base = f"/api/v1/organisations/{org['id']}/debt-requests"
        await wait((await client.post(f"{base}/fetch", json={})).json())
        await wait((await client.post(f"{base}/match", json={})).json())
        items = (await client.get("/api/v1/debt-requests", params={"organisation_id": org["id"]})).json()[
            "items"
        ]
        assert sum(1 for i in items if i["match"]["quality"] == "exact") >= 30, (
            "matching should find the flats"
        )
        for item, (last, first, middle), number in zip(items, DEFENDANTS, snils, strict=False):
            doc = await client.post(
                f"/api/v1/debt-requests/{item['id']}/documents",
                data={"type_code": "1"},
                files={"file": ("court-act.pdf", b"%PDF-1.4 act", "application/pdf")},
            )
            assert doc.status_code == 201, doc.text
            answer = {
                "has_debt": True,
                "defendants": [
                    {
                        "last_name": last,
                        "first_name": first,
                        "middle_name": middle,
                        "snils": number,
                        "document_ids": [doc.json()["id"]],
                    }
                ],
            }
            assert (
                await client.put(f"/api/v1/debt-requests/{item['id']}/answer", json=answer)
            ).status_code == 200
        mass = await client.post(
            "/api/v1/debt-requests/answers/no-debt",
            json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
        )
        assert mass.status_code == 200, mass.text
        sent = await wait((await client.post(f"{base}/send", json={})).json())
        assert sent["result"]["accepted"] == 40, sent
        # A bad request on purpose: its error must not echo the SNILS either.
        bad = {
            "has_debt": True,
            "defendants": [{"last_name": "Кузнецова", "first_name": "А", "snils": "12345678900"}],
        }
        assert (
            await client.put(f"/api/v1/debt-requests/{items[-1]['id']}/answer", json=bad)
        ).status_code in (409, 422)
        # Searches by person in every URL spelling, with the key, without one (401) and with a bad one.
        for path in _person_searches(snils, DEFENDANTS):
            assert (await client.get(path)).status_code in (200, 422), path
            async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as anonymous:
                assert (await anonymous.get(path)).status_code == 401
                assert (await anonymous.get(path, headers={"X-API-Key": "gk_wrong"})).status_code == 401
        metrics = (await client.get("/metrics")).text

    proc.kill()
    log = proc.log_path.read_text(encoding="utf-8")
    assert len(log.splitlines()) > 50, "the run should have produced a real log"
    assert "/api/v1/accounts?" in log, "the access log should name the search route and its parameters"
    secrets = set(snils) | {format_snils(s) for s in snils} | {"12345678900"} | payer_pii
    secrets |= {name for defendant in DEFENDANTS for name in defendant}
    leaked = sorted(s for s in _spellings(secrets) if s in log)
    assert not leaked, f"personal data in the gateway log: {len(leaked)} values, e.g. {leaked[:3]!r}"

    for series in (
        r'gisgw_gis_exchanges_total\{operation="importResponses",outcome="done",service="debt-requests"\} '
        r"[1-9]",
        r'gisgw_gis_exchange_seconds_bucket\{le="[^"]+",operation="exportDebtSubrequests"',
        r"gisgw_gis_retries_total",
        r'gisgw_gis_pending_exchanges\{status="[a-z]+"\} \d',
        r'gisgw_debt_requests\{organisation="[0-9a-f-]+",status="sent"\} 40',
        r"gisgw_debt_deadlines_at_risk\{organisation=",
        r"gisgw_debt_deadlines_overdue\{organisation=",
        r'gisgw_http_requests_total\{method="POST",route="/api/v1/organisations/\{organisation_id\}/debt-requests/send"',
        r"gisgw_http_request_seconds_bucket",
    ):
        assert re.search(series, metrics), f"missing metric {series}"


def test_stand_process_logs_no_query_values(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGW_")}
    env.update(
        GISGW_ENV="test",
        GISGW_SCHEMA_DIR=str(SCHEMA_DIR),
        GISGW_LOG_LEVEL="DEBUG",
        GISGW_STAND_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'stand.db'}",
    )
    log_path = tmp_path / "stand.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(  # noqa: S603 - our own entry point with fixed arguments
            [sys.executable, "-c", "from app.cli import main; main()", "stand", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/stand/admin/answer-stats", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        for path in _person_searches(["19000000099"], [DEFENDANTS[0]]):
            httpx.get(base + path.replace("/api/v1/accounts", "/stand/admin/answer-stats"), timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    log = log_path.read_text(encoding="utf-8")
    assert "/stand/admin/answer-stats" in log, "the stand's access log should name the route"
    secrets = _spellings({"19000000099", format_snils("19000000099"), *DEFENDANTS[0]})
    leaked = sorted(s for s in secrets if s in log)
    assert not leaked, f"personal data in the stand's log: {leaked[:3]!r}"
