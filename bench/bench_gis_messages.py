"""Bench: the two GIS message pipelines exactly as the exchange engine runs them, per crypto backend.

* import: `ExchangeEngine.build_message` for a 100-action importDSRResponsesRequest (payload JSON → body,
  envelope, SchemaSet validation, XAdES-BES signature with LocalKeySigner, serialisation);
* result: `ExchangeEngine.read_state` for a signed 100-subrequest exportDSRs getStateResult (safexml parse,
  SOAP Fault check, parse_state, XSD validation of the result, XAdES verification).

Run from the repo root::

    .venv/bin/python bench/bench_gis_messages.py [--runs 50] [--backends openssl,python]
    .venv/bin/python bench/bench_gis_messages.py --whole-process     # adds hyperfine or /usr/bin/time -v

`--once PIPELINE --backend NAME --repeat K` runs one pipeline K times and exits (whole-process timing).

Floors (the least work each job needs on this machine, for the same bytes; timed interleaved with gisgw):

* import: lxml parse of the unsigned message gisgw builds + XSD validation of its body + exclusive c14n of
  the body + Streebog-256 + one in-process GOST sign;
* result: lxml parse of the signed answer + XSD validation of its body + exclusive c14n of the body +
  Streebog-256 + one in-process GOST verify.

The last two lines are the ratio lines of the openssl backend.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.gis_client.crypto.openssl_setup import configure_openssl  # noqa: E402

configure_openssl()

import httpx  # noqa: E402
from lxml import etree  # noqa: E402

from app.db.models.core import Organisation  # noqa: E402
from app.db.models.exchange import Exchange  # noqa: E402
from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.keys import (  # noqa: E402
    BackendUnavailable,
    GostBackend,
    load_certificate,
    load_private_key,
)
from app.gis_client.crypto.signer import LocalKeySigner  # noqa: E402
from app.gis_client.crypto.xmldsig import sign_element_sync  # noqa: E402
from app.gis_client.exchange import ExchangeEngine, encode_payload  # noqa: E402
from app.gis_client.operations import NS_SOAP  # noqa: E402
from app.gis_client.services import get_operation  # noqa: E402
from app.gis_client.wire.envelope import build_envelope, serialize  # noqa: E402
from app.gis_client.wire.schemas import SchemaSet  # noqa: E402
from app.gis_client.wire.transport import HttpReply, Transport  # noqa: E402
from app.gis_stand.results_builder import build_dsr_export, build_state_result  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.floor import Pairs, interleave_async  # noqa: E402
from tests.gis_client.samples.data import dsr_page, schema_dir, send_action  # noqa: E402

TARGET_MS = 15.0


class Fixture:
    """One engine per backend plus the exchange rows and the stand-signed answer it works on."""

    def __init__(self, backend: GostBackend, schemas: SchemaSet, actions: int, subrequests: int) -> None:
        settings = Settings(
            env="test",
            database={"url": "sqlite+aiosqlite://"},
            log={"json_logs": False},
            signing={"crypto_backend": backend.name},
            gis={"schema_dir": schema_dir(), "verify_responses": "reject", "validate_responses": "reject"},
        )
        key_pem, cert_pem = generate_test_key("/CN=bench/O=gisgw", "A", backend=backend)
        signer = LocalKeySigner(key_pem, cert_pem, backend)
        # The HTTP client is never used: both pipelines stop before/after the POST.
        transport = Transport(httpx.AsyncClient(), max_response_bytes=settings.gis.max_response_bytes)
        self.engine = ExchangeEngine(
            settings=settings, transport=transport, signer=signer, backend=backend, schemas=schemas
        )
        self.org = Organisation(id=uuid.uuid4(), ppa_guid=uuid.uuid4())
        # Half the actions confirm a debt with a debtor and documents, half answer "no debt".
        request = [send_action(i % 2 == 0) for i in range(actions)]
        self.import_row = Exchange(
            id=uuid.uuid4(), organisation_id=self.org.id, operation="importResponses",
            payload=encode_payload("importResponses", request), service="debt-requests",
        )  # fmt: skip
        self.state_row = Exchange(
            id=uuid.uuid4(), organisation_id=self.org.id, operation="exportDebtSubrequests",
            payload={}, service="debt-requests",
        )  # fmt: skip
        # The answer as the stand (or GIS) sends it: built, then signed with another key (the "GIS" one).
        gis_key, gis_cert = generate_test_key("/CN=gis/O=stand", "A", backend=backend)
        gis = LocalKeySigner(gis_key, gis_cert, backend)
        document = build_state_result(
            "debt-requests", 3, str(uuid.uuid4()), [build_dsr_export(dsr_page(subrequests))]
        )
        body = document.find(f"{{{NS_SOAP}}}Body")
        assert body is not None
        sign_element_sync(document, body[0], gis.sign_digest_sync, gis.certificate, backend=backend)
        self.reply = HttpReply(200, serialize(document), 0)
        # Floor inputs: the unsigned message gisgw builds (same bytes), our key, GIS's public key.
        self.backend = backend
        self.schema = schemas.schema
        self.key = load_private_key(key_pem)
        self.gis_public = load_certificate(gis_cert).public_key
        op = get_operation("importResponses")
        body = op.build_body(self.import_row.payload)
        self.unsigned = serialize(build_envelope(op, body, org_ppa_guid=str(self.org.ppa_guid)))
        # A signature value over the answer's body digest, so the floor's verify checks a real signature.
        self.result_digest = backend.streebog256(self._body_c14n(self.reply.content))
        self.result_signature = gis.sign_digest_sync(self.result_digest)

    def _body_c14n(self, data: bytes) -> bytes:
        root = etree.fromstring(data)
        body = root.find(f"{{{NS_SOAP}}}Body")
        assert body is not None
        if not self.schema.validate(body[0]):
            raise AssertionError(self.schema.error_log)
        return etree.tostring(body[0], method="c14n", exclusive=True)

    def floor_import(self) -> bytes:
        """The import floor: parse + XSD + exc-c14n + Streebog + one GOST sign of the same bytes."""
        digest = self.backend.streebog256(self._body_c14n(self.unsigned))
        return self.backend.sign_digest(self.key, digest)

    def floor_result(self) -> bool:
        """The result floor: parse + XSD + exc-c14n + Streebog + one GOST verify of the same bytes."""
        digest = self.backend.streebog256(self._body_c14n(self.reply.content))
        return self.backend.verify_digest(self.gis_public, digest, self.result_signature)

    async def build_import(self) -> bytes:
        """Run the import pipeline once."""
        _op, _guid, data = await self.engine.build_message(self.import_row, self.org)
        return data

    async def read_result(self) -> object:
        """Run the result pipeline once."""
        state = self.engine.read_state(self.state_row, self.reply)
        assert state.done and state.payload is not None
        return state


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """Return wall times in ms of `runs` calls (after one warm-up call)."""
    await fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(label: str, times: list[float]) -> str:
    """Format median/min/max of a series."""
    median = statistics.median(times)
    verdict = "  ≤ 15 ms: met" if median <= TARGET_MS else "  ≤ 15 ms: NOT met"
    if "python" in label or "floor" in label:
        verdict = ""
    return (
        f"{label:<34} median {median:8.2f}  min {min(times):8.2f}  max {max(times):8.2f}  "
        f"(n={len(times)}){verdict}"
    )


def whole_process(backends: list[str], repeat: int) -> None:
    """Time `--once` runs as separate processes with hyperfine if installed, else /usr/bin/time -v."""
    script = str(Path(__file__).resolve().relative_to(Path.cwd())) if Path.cwd() == ROOT else __file__
    for backend in backends:
        for pipeline in ("import", "result"):
            cmd = [sys.executable, script, "--once", pipeline, "--backend", backend, "--repeat", str(repeat)]
            print(f"\n$ {' '.join(cmd)}")
            if shutil.which("hyperfine"):
                subprocess.run(["hyperfine", "--warmup", "1", "--runs", "5", " ".join(cmd)], check=True)
            elif Path("/usr/bin/time").exists():
                out = subprocess.run(
                    ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=True
                )
                print(out.stdout.strip())
                keep = ("Elapsed (wall clock)", "Maximum resident", "User time", "System time")
                print(
                    "\n".join(
                        line.strip() for line in out.stderr.splitlines() if line.strip().startswith(keep)
                    )
                )
            else:
                subprocess.run(cmd, check=True)


async def main_async(args: argparse.Namespace) -> None:
    """Run the in-process measurements (or one --once batch)."""
    started = time.perf_counter()
    schemas = SchemaSet.load(schema_dir())
    compile_ms = (time.perf_counter() - started) * 1000
    if args.once:
        fixture = Fixture(get_backend(args.backend), schemas, args.actions, args.subrequests)
        fn = fixture.build_import if args.once == "import" else fixture.read_result
        times = await timed(fn, args.repeat)
        print(row(f"{args.once} ({args.backend}) in-process", times))
        return
    print(f"XSD compile {compile_ms:.0f} ms; {args.actions} actions, {args.subrequests} subrequests")
    lines: list[str] = []
    for name in args.backends.split(","):
        try:
            backend = get_backend(name)  # type: ignore[arg-type]
        except BackendUnavailable as exc:
            print(f"{name}: unavailable ({exc})")
            continue
        fixture = Fixture(backend, schemas, args.actions, args.subrequests)
        runs = args.runs if name == "openssl" else max(5, args.runs // 10)
        size_in = len(await fixture.build_import()) // 1024
        print(f"-- {name}: import message {size_in} KiB, result {len(fixture.reply.content) // 1024} KiB")
        built = await interleave_async(fixture.build_import, fixture.floor_import, runs)
        read = await interleave_async(fixture.read_result, fixture.floor_result, runs)
        print(row(f"build+validate+sign ({name})", built.gisgw))
        print(row(f"  floor ({name})", built.floor))
        print(row(f"parse+validate+verify ({name})", read.gisgw))
        print(row(f"  floor ({name})", read.floor))
        if name == "openssl":
            lines += ratio_lines(args, built, read)
    for line in lines:
        print(line)


def ratio_lines(args: argparse.Namespace, built: Pairs, read: Pairs) -> list[str]:
    """The two ratio lines of the openssl backend."""
    return [
        built.line(f"build+validate+sign, {args.actions}-action importDSRResponses"),
        read.line(f"parse+validate+verify, signed {args.subrequests}-subrequest result"),
    ]


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per pipeline (python backend: runs/10)")
    parser.add_argument("--backends", default="openssl,python")
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--subrequests", type=int, default=100)
    parser.add_argument("--whole-process", action="store_true", help="also time separate processes")
    parser.add_argument("--once", choices=("import", "result"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="openssl", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args: Any = parser.parse_args()
    asyncio.run(main_async(args))
    if args.whole_process and not args.once:
        whole_process(args.backends.split(","), 1)


if __name__ == "__main__":
    main()
