"""XAdES-BES signatures with GOST R 34.10-2012/256 in the GIS ZhKKh profile (gis-protocol.md §5).

`sign_element` follows the signing order of §5 exactly; `verify` checks a received document as received
(canonicalising the parsed bytes in document context, never a re-serialised copy) and reports every check.
Hand-written on lxml because ``signxml``/``xmlsec`` have no GOST (§6).
"""

from __future__ import annotations

import base64
import binascii
import copy
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from app.gis_client.crypto.backend import get_backend, verify_certificate_signature
from app.gis_client.crypto.keys import (
    CertificateInfo,
    GostBackend,
    GostCryptoError,
    IssuerStyle,
    load_certificate,
)
from app.gis_client.crypto.signer import Signer
from app.gis_client.moscow import moscow_now
from app.gis_client.wire.safexml import DEFAULT_MAX_BYTES, parse_xml

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
INCL_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
INCL_C14N_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

SIG_2012_256 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256"
DIG_2012_256 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256"
DIG_GOST94 = "http://www.w3.org/2001/04/xmldsig-more#gostr3411"

# Every spelling seen in production (§5 "A verifier must tolerate").
_SIG_2012_256_URIS = {SIG_2012_256, "http://www.w3.org/2001/04/xmldsig-more#gostr34102012-gostr34112012-256"}
_SIG_2001_URIS = {
    "http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411",
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411",
}
_SIG_512_URIS = {
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512",
    "http://www.w3.org/2001/04/xmldsig-more#gostr34102012-gostr34112012-512",
}
_DIG_2012_256_URIS = {DIG_2012_256, "http://www.w3.org/2001/04/xmldsig-more#gostr34112012-256"}
_DIG_GOST94_URIS = {DIG_GOST94, "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr3411"}
_C14N_URIS = {EXC_C14N, EXC_C14N_COMMENTS, INCL_C14N, INCL_C14N_COMMENTS}

DEFAULT_CONTAINER_ID = "signed-data-container"


def _ds(tag: str) -> str:
    return f"{{{DS_NS}}}{tag}"


def _xades(tag: str) -> str:
    return f"{{{XADES_NS}}}{tag}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _c14n(node: etree._Element, algorithm: str, prefixes: list[str] | None = None) -> bytes:
    """Canonicalise a node of its document (document context: inherited namespaces count for inclusive)."""
    if algorithm not in _C14N_URIS:
        raise GostCryptoError(f"unsupported canonicalization {algorithm}")
    exclusive = algorithm in (EXC_C14N, EXC_C14N_COMMENTS)
    return bytes(
        etree.tostring(
            node,
            method="c14n",
            exclusive=exclusive,
            with_comments=algorithm.endswith("#WithComments"),
            inclusive_ns_prefixes=prefixes if exclusive and prefixes else None,
        )
    )


def _child_path(root: etree._Element, node: etree._Element) -> list[int]:
    """Return the child indexes leading from root down to node."""
    path: list[int] = []
    while node is not root:
        parent = node.getparent()
        if parent is None:
            raise ValueError("node is not inside root")
        path.append(parent.index(node))
        node = parent
    path.reverse()
    return path


def _follow(root: etree._Element, path: list[int]) -> etree._Element:
    for index in path:
        root = root[index]
    return root


def _c14n_without(
    target: etree._Element, signature: etree._Element, algorithm: str, prefixes: list[str] | None
) -> bytes:
    """Canonicalise target with the signature node removed (enveloped-signature transform), tree untouched.

    The transform runs on a copy of the whole document: detaching and re-inserting the Signature in the
    original would let libxml2 re-bind its own ``ds:`` to an ancestor's prefix for the same URI (GIS declares
    ``ns3`` = xmldsig on the Envelope, gis-protocol.md §16) and change every later canonical form. Copying the
    root (not the target) keeps every ancestor declaration in place for inclusive c14n. lxml's remove() also
    drops the node's tail text, which the transform keeps, so the copy's tail is moved to the preceding text.
    """
    if signature.getparent() is None:
        return _c14n(target, algorithm, prefixes)
    root = target.getroottree().getroot()
    target_path = _child_path(root, target)
    signature_path = _child_path(root, signature)
    root_copy = copy.deepcopy(root)
    target_copy = _follow(root_copy, target_path)
    signature_copy = _follow(root_copy, signature_path)
    parent = signature_copy.getparent()
    assert parent is not None
    tail = signature_copy.tail
    previous = signature_copy.getprevious()
    parent.remove(signature_copy)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    return _c14n(target_copy, algorithm, prefixes)


def _contains(ancestor: etree._Element, node: etree._Element) -> bool:
    return any(a is ancestor for a in node.iterancestors()) or ancestor is node


def _digest_fn(uri: str, backend: GostBackend) -> Callable[[bytes], bytes]:
    if uri in _DIG_2012_256_URIS:
        return backend.streebog256
    if uri in _DIG_GOST94_URIS:
        return backend.gost94_cryptopro
    raise GostCryptoError(f"unsupported digest method {uri}")


# ----------------------------------------------------------------------------------------------------
# Signing


def local_signing_time() -> str:
    """Return Moscow time (+03:00) with milliseconds, as the GIS server writes SigningTime on any host."""
    return moscow_now().isoformat(timespec="milliseconds")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _build_skeleton(
    container_id: str,
    cert: CertificateInfo,
    backend: GostBackend,
    *,
    issuer_style: IssuerStyle,
    signing_time: str,
    signed_info_c14n: str,
    signed_properties_digest: str,
    xades_prefix: str = "xades",
) -> tuple[etree._Element, str]:
    u = str(uuid.uuid4())
    sid = f"xmldsig-{u}"
    signature = etree.Element(_ds("Signature"), {"Id": sid}, nsmap={"ds": DS_NS})
    signed_info = _sub(signature, _ds("SignedInfo"))
    _sub(signed_info, _ds("CanonicalizationMethod"), Algorithm=signed_info_c14n)
    _sub(signed_info, _ds("SignatureMethod"), Algorithm=SIG_2012_256)
    ref1 = _sub(signed_info, _ds("Reference"), Id=f"{sid}-ref0", URI=f"#{container_id}")
    transforms = _sub(ref1, _ds("Transforms"))
    _sub(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    _sub(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    _sub(ref1, _ds("DigestMethod"), Algorithm=DIG_2012_256)
    _sub(ref1, _ds("DigestValue"))
    ref2 = _sub(signed_info, _ds("Reference"), URI=f"#{sid}-signedprops", Type=SIGNED_PROPERTIES_TYPE)
    if signed_properties_digest in _DIG_2012_256_URIS:
        _sub(_sub(ref2, _ds("Transforms")), _ds("Transform"), Algorithm=EXC_C14N)
    # else: client M's variant, no Transforms and GOST-94 over inclusive c14n (accepted by GIS; tests only)
    _sub(ref2, _ds("DigestMethod"), Algorithm=signed_properties_digest)
    _sub(ref2, _ds("DigestValue"))
    _sub(signature, _ds("SignatureValue"), Id=f"{sid}-sigvalue")
    x509data = _sub(_sub(signature, _ds("KeyInfo")), _ds("X509Data"))
    _sub(x509data, _ds("X509Certificate"), _b64(cert.der))
    qp = etree.SubElement(
        _sub(signature, _ds("Object")),
        _xades("QualifyingProperties"),
        {"Target": f"#{sid}"},
        nsmap={xades_prefix: XADES_NS},
    )
    ssp = _sub(
        _sub(qp, _xades("SignedProperties"), Id=f"{sid}-signedprops"), _xades("SignedSignatureProperties")
    )
    _sub(ssp, _xades("SigningTime"), signing_time)
    xcert = _sub(_sub(ssp, _xades("SigningCertificate")), _xades("Cert"))
    cert_digest = _sub(xcert, _xades("CertDigest"))
    _sub(cert_digest, _ds("DigestMethod"), Algorithm=DIG_2012_256)
    _sub(cert_digest, _ds("DigestValue"), _b64(backend.streebog256(cert.der)))
    issuer_serial = _sub(xcert, _xades("IssuerSerial"))
    _sub(issuer_serial, _ds("X509IssuerName"), cert.issuer_name(issuer_style))
    _sub(issuer_serial, _ds("X509SerialNumber"), str(cert.serial))
    return signature, sid


def _prepare(
    element: etree._Element,
    cert: CertificateInfo,
    backend: GostBackend,
    *,
    issuer_style: IssuerStyle,
    signing_time: str | None,
    signed_info_c14n: str,
    signed_properties_digest: str,
) -> tuple[etree._Element, bytes]:
    """Insert a filled skeleton as first child; return it and the digest of canonical SignedInfo."""
    if element.find(_ds("Signature")) is not None:
        raise GostCryptoError("element is already signed")
    container_id = element.get("Id")
    if not container_id:
        container_id = DEFAULT_CONTAINER_ID
        element.set("Id", container_id)
    # lxml re-uses a prefix the document already binds to the xmldsig URI for the inserted Signature; if that
    # prefix is "xades", re-binding it to XAdES on QualifyingProperties would move the ds elements inside
    # into the XAdES namespace. Pick an XAdES prefix that nothing in scope uses for another namespace.
    in_scope = element.nsmap
    xades_prefix = next(
        p for p in ("xades", "xades1", "xades2", "xades3") if in_scope.get(p) in (None, XADES_NS)
    )
    signature, _sid = _build_skeleton(
        container_id,
        cert,
        backend,
        issuer_style=issuer_style,
        signing_time=signing_time or local_signing_time(),
        signed_info_c14n=signed_info_c14n,
        signed_properties_digest=signed_properties_digest,
        xades_prefix=xades_prefix,
    )
    # (4, first) body digest with the signature absent (enveloped transform), exclusive c14n. Taken before the
    # insertion: the Signature goes in as first child with no tail, and exclusive c14n renders only visibly
    # used namespaces, so these are the bytes the transform yields afterwards, without copying the document
    # to remove it again (`test_sign_body_digest_equals_enveloped_transform` checks the equality).
    body_digest = backend.streebog256(_c14n(element, EXC_C14N))
    # (2) first child; no whitespace around it (its tail stays None), so no tail pitfall on our side.
    element.insert(0, signature)
    signed_info = signature[0]
    ref_body, ref_props = signed_info.findall(_ds("Reference"))
    # (3) SignedProperties digest, in place (document context).
    props = signature.find(f"{_ds('Object')}/{_xades('QualifyingProperties')}/{_xades('SignedProperties')}")
    assert props is not None
    props_c14n = EXC_C14N if signed_properties_digest in _DIG_2012_256_URIS else INCL_C14N
    props_digest = _digest_fn(signed_properties_digest, backend)(_c14n(props, props_c14n))
    ref_props.find(_ds("DigestValue")).text = _b64(props_digest)  # type: ignore[union-attr]
    ref_body.find(_ds("DigestValue")).text = _b64(body_digest)  # type: ignore[union-attr]
    # (5) canonical SignedInfo → Streebog; the caller signs it.
    return signature, backend.streebog256(_c14n(signed_info, signed_info_c14n))


async def sign_element(
    root: etree._Element,
    element: etree._Element,
    signer: Signer,
    *,
    issuer_style: IssuerStyle = "server",
    backend: GostBackend | None = None,
    signing_time: str | None = None,
    signed_info_c14n: str = EXC_C14N,
    signed_properties_digest: str = DIG_2012_256,
) -> etree._Element:
    """Sign element (inside root) with an enveloped XAdES-BES signature as its first child; return it.

    The namespaces of root must be final: serialise root once afterwards and send those bytes.
    ``signed_info_c14n``/``signed_properties_digest`` exist to produce legacy variants in tests.
    """
    if not _contains(root, element):
        raise ValueError("element is not inside root")
    backend = backend or get_backend("auto")
    signature, digest = _prepare(
        element,
        signer.certificate,
        backend,
        issuer_style=issuer_style,
        signing_time=signing_time,
        signed_info_c14n=signed_info_c14n,
        signed_properties_digest=signed_properties_digest,
    )
    try:
        value = await signer.sign_digest(digest)
    except BaseException:
        element.remove(signature)
        raise
    signature.find(_ds("SignatureValue")).text = _b64(value)  # type: ignore[union-attr]
    return signature


def sign_element_sync(
    root: etree._Element,
    element: etree._Element,
    sign_digest: Callable[[bytes], bytes],
    certificate: CertificateInfo,
    *,
    issuer_style: IssuerStyle = "server",
    backend: GostBackend | None = None,
    signing_time: str | None = None,
    signed_info_c14n: str = EXC_C14N,
    signed_properties_digest: str = DIG_2012_256,
) -> etree._Element:
    """Sign like `sign_element`, with a synchronous digest signer (CLI, benchmarks)."""
    if not _contains(root, element):
        raise ValueError("element is not inside root")
    backend = backend or get_backend("auto")
    signature, digest = _prepare(
        element,
        certificate,
        backend,
        issuer_style=issuer_style,
        signing_time=signing_time,
        signed_info_c14n=signed_info_c14n,
        signed_properties_digest=signed_properties_digest,
    )
    signature.find(_ds("SignatureValue")).text = _b64(sign_digest(digest))  # type: ignore[union-attr]
    return signature


# ----------------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class Check:
    """One verification step."""

    name: str
    ok: bool
    reason: str = ""


@dataclass
class VerificationReport:
    """Every check made on a signature; valid only if all passed."""

    checks: list[Check] = field(default_factory=list)
    signer_subject: str | None = None
    signer_serial: int | None = None
    signing_time: str | None = None

    @property
    def valid(self) -> bool:
        """Return True if there were checks and all passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        """Return the failed checks."""
        return [c for c in self.checks if not c.ok]

    def check(self, name: str) -> Check | None:
        """Return the check of that name, if made."""
        return next((c for c in self.checks if c.name == name), None)

    def add(self, name: str, ok: bool, reason: str = "") -> None:
        """Record a check."""
        self.checks.append(Check(name, ok, reason))


class UnusableSignatureError(GostCryptoError):
    """The document has no signature that can be checked at all."""


# Only a handful of elements carry Id; XPath finds them in C instead of visiting every element in Python. It
# selects the attributes themselves: a predicate (`*[@Id]`) is evaluated node by node and cost ~8x more.
_ID_ATTRIBUTES = etree.XPath("descendant-or-self::*/@Id")


def _ids(root: etree._Element) -> dict[str, etree._Element]:
    ids: dict[str, etree._Element] = {}
    duplicates: set[str] = set()
    found = _ID_ATTRIBUTES(root)
    for attribute in found if isinstance(found, list) else ():
        if not isinstance(attribute, etree._ElementUnicodeResult):
            continue
        el = attribute.getparent()
        if el is None:
            continue
        value = str(attribute)
        if value in ids:
            duplicates.add(value)
        ids[value] = el
    # Two elements with one Id would let an attacker sign one and show the other (signature wrapping).
    for value in duplicates:
        ids.pop(value, None)
    return ids


def _reference_octets(ref: etree._Element, target: etree._Element, signature: etree._Element) -> bytes:
    transforms = ref.findall(f"{_ds('Transforms')}/{_ds('Transform')}")
    enveloped = False
    c14n_alg = INCL_C14N  # XMLDSig: a node-set with no c14n transform is canonicalised inclusively
    prefixes: list[str] | None = None
    for transform in transforms:
        alg = transform.get("Algorithm", "")
        if alg == ENVELOPED:
            enveloped = True
        elif alg in _C14N_URIS:
            c14n_alg = alg
            incl = transform.find(f"{{{EC_NS}}}InclusiveNamespaces")
            if incl is not None:
                prefixes = [p if p != "#default" else "" for p in incl.get("PrefixList", "").split()]
        else:
            raise GostCryptoError(f"unsupported transform {alg}")
    if enveloped and _contains(target, signature):
        if c14n_alg == EXC_C14N and prefixes is None:
            octets = _exc_c14n_without_first_child(target, signature)
            if octets is not None:
                return octets
        return _c14n_without(target, signature, c14n_alg, prefixes)
    return _c14n(target, c14n_alg, prefixes)


def _exc_c14n_without_first_child(target: etree._Element, signature: etree._Element) -> bytes | None:
    """Return exc-c14n of target without its first child signature, cut from the whole form; None if unsure.

    The profile puts the Signature first in the signed element (gis-protocol.md §5). Exclusive c14n renders
    an element from its own visibly used namespaces and its output ancestors only, so removing the Signature
    from the node-set removes exactly its rendering and nothing else; that rendering starts at the first
    `<` after the target's start tag (no comment or PI before the Signature; `<` is escaped in text and
    attribute values, and no in-scope namespace URI contains one) and equals the Signature canonicalised on
    its own unless the target already renders a declaration the Signature uses, which `startswith` detects
    (then the caller copies the document, as before). This spares the copy of a ~200 KiB result.
    """
    if signature.getparent() is not target or target[0] is not signature:
        return None
    if any("<" in uri for uri in target.nsmap.values()):
        return None
    whole = _c14n(target, EXC_C14N)
    own = _c14n(signature, EXC_C14N)
    start = whole.find(b"<", 1)
    if start == -1 or not whole.startswith(own, start):
        return None
    return whole[:start] + whole[start + len(own) :]


#: Start of the certificate-trust reason when the signing certificate is expired or not yet valid.
CERT_NOT_VALID_PREFIX = "certificate not valid at"


def _certificate_trusted(
    cert: CertificateInfo, trusted: list[CertificateInfo], backend: GostBackend, now: datetime
) -> tuple[bool, str]:
    if now < cert.not_before:
        return False, f"{CERT_NOT_VALID_PREFIX} {now.isoformat()}: not valid before {cert.not_before}"
    if now > cert.not_after:
        return False, f"{CERT_NOT_VALID_PREFIX} {now.isoformat()}: expired {cert.not_after}"
    for anchor in trusted:
        if anchor.der == cert.der:
            return True, "certificate is a trust anchor"
    for anchor in trusted:
        if anchor.subject_rdns == cert.issuer_rdns and verify_certificate_signature(cert, anchor, backend):
            if not anchor.not_before <= now <= anchor.not_after:
                return False, "issuing trust anchor expired"
            return True, f"issued by trusted {anchor.subject_name()}"
    return False, "certificate is not issued by any trusted certificate"


def verify(
    xml_bytes: bytes,
    *,
    trusted_certs: Iterable[bytes | CertificateInfo] | None = None,
    backend: GostBackend | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: datetime | None = None,
) -> VerificationReport:
    """Verify the first enveloped XAdES-BES signature of a received document, as received."""
    return verify_tree(
        parse_xml(xml_bytes, max_bytes=max_bytes), trusted_certs=trusted_certs, backend=backend, now=now
    )


def verify_tree(
    root: etree._Element,
    *,
    trusted_certs: Iterable[bytes | CertificateInfo] | None = None,
    backend: GostBackend | None = None,
    now: datetime | None = None,
) -> VerificationReport:
    """Verify like `verify`, on the tree parsed from the received bytes (safexml.parse_xml), unchanged."""
    backend = backend or get_backend("auto")
    signature = next(root.iter(_ds("Signature")), None)
    if signature is None:
        raise UnusableSignatureError("document carries no ds:Signature")
    signed_info = signature.find(_ds("SignedInfo"))
    if signed_info is None:
        raise UnusableSignatureError("ds:Signature has no SignedInfo")
    report = VerificationReport()
    ids = _ids(root)

    # Certificate from KeyInfo (the only source of the key in this profile).
    cert: CertificateInfo | None = None
    cert_error = "no ds:X509Certificate in KeyInfo"
    cert_text = signature.findtext(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if cert_text:
        try:
            cert = load_certificate(base64.b64decode("".join(cert_text.split()), validate=True))
            report.signer_subject = cert.subject_name()
            report.signer_serial = cert.serial
        except (GostCryptoError, ValueError, binascii.Error) as exc:
            cert_error = f"unreadable certificate: {exc}"

    # References: the SignedProperties one is named by Type (or by pointing at xades:SignedProperties).
    body_index = 0
    for ref in signed_info.findall(_ds("Reference")):
        uri = ref.get("URI", "")
        target = ids.get(uri[1:]) if uri.startswith("#") else (root if uri == "" else None)
        is_props = ref.get("Type") == SIGNED_PROPERTIES_TYPE or (
            target is not None and target.tag == _xades("SignedProperties")
        )
        if is_props:
            name = "signed-properties"
        else:
            body_index += 1
            name = f"reference-{body_index}"
        if target is None:
            report.add(name, False, f"URI {uri!r} matches no single element with that Id")
            continue
        try:
            digest_fn = _digest_fn(ref.find(_ds("DigestMethod")).get("Algorithm", ""), backend)  # type: ignore[union-attr]
            actual = digest_fn(_reference_octets(ref, target, signature))
            expected = base64.b64decode(
                "".join((ref.findtext(_ds("DigestValue")) or "").split()), validate=True
            )
        except (GostCryptoError, ValueError, binascii.Error, AttributeError) as exc:
            report.add(name, False, str(exc) or type(exc).__name__)
            continue
        if actual == expected:
            report.add(name, True, f"digest of {uri} matches")
        else:
            report.add(
                name, False, f"digest of {uri} differs: computed {_b64(actual)}, signed {_b64(expected)}"
            )
    if body_index == 0:
        report.add("reference-1", False, "no reference to the signed data")
    if report.check("signed-properties") is None:
        report.add("signed-properties", False, "no reference to xades:SignedProperties (not XAdES-BES)")

    # SignatureValue over canonical SignedInfo, in document context.
    method = signed_info.find(_ds("SignatureMethod"))
    sig_alg = method.get("Algorithm", "") if method is not None else ""
    c14n_el = signed_info.find(_ds("CanonicalizationMethod"))
    c14n_alg = c14n_el.get("Algorithm", "") if c14n_el is not None else ""
    if cert is None:
        report.add("signature-value", False, cert_error)
    elif sig_alg in _SIG_2001_URIS:
        report.add(
            "signature-value", False, "GOST R 34.10-2001 signatures are not supported (keys retired 2019)"
        )
    elif sig_alg in _SIG_512_URIS:
        report.add("signature-value", False, "GOST R 34.10-2012/512 signatures are not supported")
    elif sig_alg not in _SIG_2012_256_URIS:
        report.add("signature-value", False, f"unknown signature method {sig_alg!r}")
    else:
        try:
            value = base64.b64decode(
                "".join((signature.findtext(_ds("SignatureValue")) or "").split()), validate=True
            )
            digest = backend.streebog256(_c14n(signed_info, c14n_alg))
            ok = backend.verify_digest(cert.public_key, digest, value)
            report.add(
                "signature-value", ok, "verified" if ok else "signature does not match SignedInfo and key"
            )
        except (GostCryptoError, ValueError, binascii.Error) as exc:
            report.add("signature-value", False, str(exc))

    # XAdES SigningCertificate: digest of the DER certificate and the serial number.
    xcert = signature.find(
        f".//{_xades('SignedProperties')}/{_xades('SignedSignatureProperties')}/"
        f"{_xades('SigningCertificate')}/{_xades('Cert')}"
    )
    report.signing_time = signature.findtext(
        f".//{_xades('SignedSignatureProperties')}/{_xades('SigningTime')}"
    )
    if xcert is None:
        report.add("cert-digest", False, "no xades:SigningCertificate")
    elif cert is None:
        report.add("cert-digest", False, cert_error)
    else:
        try:
            dm = xcert.find(f"{_xades('CertDigest')}/{_ds('DigestMethod')}")
            fn = _digest_fn(dm.get("Algorithm", "") if dm is not None else "", backend)
            expected = base64.b64decode(
                "".join((xcert.findtext(f"{_xades('CertDigest')}/{_ds('DigestValue')}") or "").split()),
                validate=True,
            )
            ok = fn(cert.der) == expected
            report.add(
                "cert-digest", ok, "matches KeyInfo certificate" if ok else "differs from KeyInfo certificate"
            )
        except (GostCryptoError, ValueError, binascii.Error) as exc:
            report.add("cert-digest", False, str(exc))
        serial = (xcert.findtext(f"{_xades('IssuerSerial')}/{_ds('X509SerialNumber')}") or "").strip()
        ok = serial == str(cert.serial)
        report.add("issuer-serial", ok, "serial matches" if ok else f"serial {serial!r} != {cert.serial}")

    if trusted_certs is not None:
        anchors = [c if isinstance(c, CertificateInfo) else load_certificate(c) for c in trusted_certs]
        if cert is None:
            report.add("certificate-trust", False, cert_error)
        else:
            moment = now or datetime.now().astimezone()
            ok, reason = _certificate_trusted(cert, anchors, backend, moment)
            report.add("certificate-trust", ok, reason)
    return report
