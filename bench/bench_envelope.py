"""Bench: build+validate 100-action importDSRResponses; parse+validate a 100-subrequest getStateResult.

Run: `.venv/bin/python -m bench.bench_envelope` (or `python bench/bench_envelope.py`) from the repo root.
Also compares lxml (libxml2) against xmlschema on the same documents.

Floors (interleaved with gisgw): for the import, lxml parse of the same bytes + XSD validation of the body;
for the result, the same (gisgw's own result path adds parse_state). The last two lines are the ratio lines.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from app.gis_client.messages import build_import_dsr_responses  # noqa: E402
from app.gis_client.parse import body_element, parse_state  # noqa: E402
from app.gis_client.services import get_operation  # noqa: E402
from app.gis_client.wire.envelope import build_envelope, serialize  # noqa: E402
from app.gis_client.wire.schemas import SERVICE_SCHEMAS, SchemaSet  # noqa: E402
from app.gis_stand.results_builder import build_dsr_export, build_state_result  # noqa: E402
from bench.floor import interleave  # noqa: E402
from tests.gis_client.samples.data import dsr_page, g, schema_dir, send_action  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Return the median wall time of fn in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(runs: int = 30) -> None:
    """Print medians for the hot paths and the lxml/xmlschema comparison."""
    start = time.perf_counter()
    schemas = SchemaSet.load(schema_dir())
    print(f"compile (lxml):              {(time.perf_counter() - start) * 1000:8.1f} ms")
    actions = [send_action(i % 2 == 0) for i in range(100)]
    op = get_operation("importResponses")

    def build_import() -> bytes:
        env = build_envelope(op, build_import_dsr_responses(actions), org_ppa_guid=g())
        schemas.validate_envelope(env)
        return serialize(env)

    import_bytes = build_import()
    state_bytes = serialize(build_state_result("debt-requests", 3, g(), [build_dsr_export(dsr_page(100))]))

    def parse_result() -> object:
        env = etree.fromstring(state_bytes)
        schemas.validate_envelope(env)
        return parse_state(env)

    print(
        f"import 100 actions: {len(import_bytes) // 1024} KiB,"
        f" result 100 subrequests: {len(state_bytes) // 1024} KiB"
    )
    print(f"build+validate import (lxml): {median_ms(build_import, runs):8.2f} ms")
    print(f"parse+validate result (lxml): {median_ms(parse_result, runs):8.2f} ms")
    import_body = body_element(etree.fromstring(import_bytes))
    state_body = body_element(etree.fromstring(state_bytes))
    print(f"validate import only (lxml):  {median_ms(lambda: schemas.validate(import_body), runs):8.2f} ms")
    print(f"validate result only (lxml):  {median_ms(lambda: schemas.validate(state_body), runs):8.2f} ms")

    compare_xmlschema(import_body, state_body, runs)

    def floor(data: bytes) -> bool:
        return bool(schemas.schema.validate(body_element(etree.fromstring(data))))

    built = interleave(build_import, lambda: floor(import_bytes), runs)
    parsed = interleave(parse_result, lambda: floor(state_bytes), runs)
    print(built.line("build+validate, 100-action importDSRResponses"))
    print(parsed.line("parse+validate, 100-subrequest result"))


def compare_xmlschema(import_body: etree._Element, state_body: etree._Element, runs: int) -> None:
    """Time xmlschema on the same bodies (the reason the hot path uses lxml)."""
    try:
        import xmlschema
    except ImportError:  # pragma: no cover
        print("xmlschema not installed: skipping comparison")
        return
    start = time.perf_counter()
    root = schema_dir().resolve()
    xs = xmlschema.XMLSchema([str(root / rel) for rel in SERVICE_SCHEMAS.values()])
    print(f"compile (xmlschema):         {(time.perf_counter() - start) * 1000:8.1f} ms")
    few = max(3, runs // 10)
    print(f"validate import (xmlschema):  {median_ms(lambda: xs.validate(import_body), few):8.2f} ms")
    print(f"validate result (xmlschema):  {median_ms(lambda: xs.validate(state_body), few):8.2f} ms")


if __name__ == "__main__":
    main()
