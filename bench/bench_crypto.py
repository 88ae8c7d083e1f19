"""Time GOST signing and verification per backend: digest, raw sign/verify, XAdES sign and verify.

Run: .venv/bin/python bench/bench_crypto.py [--runs N] [--actions N]

Floors (openssl backend, interleaved with gisgw): XAdES sign of the body against parse + exclusive c14n of
the body + Streebog-256 + one GOST sign; XAdES verify against parse + exc-c14n + Streebog + one GOST verify.
The last two lines are their ratio lines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

from lxml import etree  # noqa: E402

from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.keys import BackendUnavailable, GostBackend, load_private_key  # noqa: E402
from app.gis_client.crypto.signer import LocalKeySigner  # noqa: E402
from app.gis_client.crypto.xmldsig import sign_element_sync, verify  # noqa: E402
from bench.floor import Pairs, interleave  # noqa: E402

ACTION = (
    "<drs:action><base:TransportGUID>6f1c1e2a-0000-4000-8000-{n:012d}</base:TransportGUID>"
    "<drs:subrequestGUID>6f1c1e2a-0000-4000-9000-{n:012d}</drs:subrequestGUID><drs:actionType>Send</drs:actionType>"
    "<drs:responseData><drs:hasDebt>false</drs:hasDebt>"
    "<drs:executorGUID>6f1c1e2a-0000-4000-a000-000000000001</drs:executorGUID></drs:responseData></drs:action>"
)


def envelope(actions: int) -> bytes:
    """Return an unsigned importDSRResponses envelope with that many actions."""
    body = "".join(ACTION.format(n=i) for i in range(actions))
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/" '
        'xmlns:drs="http://dom.gosuslugi.ru/schema/integration/drs/"><s:Header/><s:Body>'
        f'<drs:importDSRResponsesRequest Id="signed-data-container" base:version="14.0.0.0">{body}'
        "</drs:importDSRResponsesRequest></s:Body></s:Envelope>"
    ).encode()


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Return the median wall time of fn in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_backend(backend: GostBackend, doc: bytes, runs: int) -> tuple[float, ...]:
    """Return median ms of streebog, sign, verify, XAdES sign and XAdES verify on one backend."""
    key_pem, cert_pem = generate_test_key("/CN=bench/O=gisgw", "A", backend=backend)
    key = load_private_key(key_pem)
    signer = LocalKeySigner(key_pem, cert_pem, backend)
    digest = backend.streebog256(doc)
    sig = backend.sign_digest(key, digest)
    public = signer.certificate.public_key

    def xades_sign() -> bytes:
        root = etree.fromstring(doc)
        sign_element_sync(root, root[1][0], signer.sign_digest_sync, signer.certificate, backend=backend)
        return bytes(etree.tostring(root))

    signed = xades_sign()
    return (
        median_ms(lambda: backend.streebog256(doc), runs),
        median_ms(lambda: backend.sign_digest(key, digest), runs),
        median_ms(lambda: backend.verify_digest(public, digest, sig), runs),
        median_ms(xades_sign, runs),
        median_ms(lambda: verify(signed, backend=backend), runs),
    )


def floors(backend: GostBackend, doc: bytes, runs: int) -> tuple[Pairs, Pairs]:
    """Time XAdES sign and verify interleaved with their floors on the same bytes."""
    key_pem, cert_pem = generate_test_key("/CN=bench/O=gisgw", "A", backend=backend)
    key = load_private_key(key_pem)
    signer = LocalKeySigner(key_pem, cert_pem, backend)
    public = signer.certificate.public_key

    def xades_sign() -> bytes:
        root = etree.fromstring(doc)
        sign_element_sync(root, root[1][0], signer.sign_digest_sync, signer.certificate, backend=backend)
        return bytes(etree.tostring(root))

    def c14n_digest(data: bytes) -> bytes:
        body = etree.fromstring(data)[1][0]
        return backend.streebog256(etree.tostring(body, method="c14n", exclusive=True))

    signed = xades_sign()
    signature = backend.sign_digest(key, c14n_digest(signed))
    return (
        interleave(xades_sign, lambda: backend.sign_digest(key, c14n_digest(doc)), runs),
        interleave(
            lambda: verify(signed, backend=backend),
            lambda: backend.verify_digest(public, c14n_digest(signed), signature),
            runs,
        ),
    )


def main() -> None:
    """Print a table of median timings per backend."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--actions", type=int, default=100)
    args = parser.parse_args()
    doc = envelope(args.actions)
    print(f"median of {args.runs} runs, XML with {args.actions} actions ({len(doc)} bytes)")
    heads = ("streebog", "sign", "verify", "xades-sign", "xades-verify")
    print(
        f"{'backend':<8} "
        + " ".join(f"{h:>{w}}" for h, w in zip(heads, (9, 8, 8, 11, 13), strict=True))
        + "  (ms)"
    )
    for name in ("openssl", "python"):
        try:
            backend = get_backend(name)
        except BackendUnavailable as exc:
            print(f"{name:<8} unavailable: {exc}")
            continue
        runs = args.runs if name == "openssl" else max(3, args.runs // 10)
        row = bench_backend(backend, doc, runs)
        print(f"{name:<8} " + " ".join(f"{v:>{w}.3f}" for v, w in zip(row, (9, 8, 8, 11, 13), strict=True)))
    signing, verifying = floors(get_backend("openssl"), doc, args.runs)
    print(signing.line(f"XAdES sign, {args.actions} actions (openssl)"))
    print(verifying.line(f"XAdES verify, {args.actions} actions (openssl)"))


if __name__ == "__main__":
    main()
