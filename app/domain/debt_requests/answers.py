"""Answers: validation (named request and field), per-request answers, documents, mass "no debt", pre-fill."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.core import Organisation
from app.db.models.debt_requests import (
    DebtAnswer,
    DebtDocument,
    DebtSubrequest,
)
from app.domain.debt_requests import nsi, xsd_facets
from app.domain.debt_requests.common import (
    ANSWERABLE,
    ARCHIVED,
    PREPARED,
    SENT,
    RequestState,
    add_history,
    check_version,
    chunks,
    get_subrequest_or_raise,
    history_row,
    set_status,
)
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal
from app.domain.kernel.gis_port import FileStoreGis
from app.domain.kernel.snils import is_valid_snils, normalize_snils
from app.settings import Settings

MAX_DESCRIPTION = xsd_facets.FACETS["description"].max_length or 1000
MAX_NO_DEBT = 50_000


@dataclass(frozen=True)
class IdentityDocumentInput:
    """Identity document of a defendant: type code from NSI 95, optional series, number (personal data)."""

    type_code: str
    number: str = field(repr=False)
    series: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DefendantInput:
    """A debtor named in the answer (ФИО, СНИЛС, document) and the answer documents proving the debt."""

    last_name: str = field(repr=False)
    first_name: str = field(repr=False)
    middle_name: str | None = field(default=None, repr=False)
    snils: str | None = field(default=None, repr=False)
    document: IdentityDocumentInput | None = field(default=None, repr=False)
    document_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class AnswerInput:
    """An answer to one subrequest: hasDebt with defendants or debt-registry GUIDs, files, a description."""

    has_debt: bool
    description: str | None = None
    defendants: tuple[DefendantInput, ...] = ()
    debt_guids: tuple[uuid.UUID, ...] = ()
    additional_document_ids: tuple[uuid.UUID, ...] = ()


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def validate_answer(
    data: AnswerInput,
    *,
    path: str,
    documents: dict[uuid.UUID, DebtDocument],
    nsi95: dict[str, dict[str, str]],
) -> list[d.FieldProblem]:
    """Return every rule the answer breaks, each naming its field under `path` (empty: valid)."""
    problems: list[d.FieldProblem] = []

    def bad(sub: str, rule: str, message: str) -> None:
        problems.append(d.FieldProblem(f"{path}.{sub}" if sub else path, rule, message))

    if data.has_debt and not data.defendants and not data.debt_guids:
        bad(
            "defendants",
            "has_debt_requires_defendant",
            "hasDebt=true needs at least one defendant (or a debt-registry GUID)",
        )
    if data.defendants and data.debt_guids:
        bad(
            "debt_guids",
            "defendants_xor_debt_guids",
            "give either defendants or debt-registry GUIDs, not both",
        )
    if not data.has_debt and (data.defendants or data.debt_guids or data.additional_document_ids):
        bad(
            "has_debt",
            "no_debt_without_details",
            "a 'no debt' answer carries no defendants, debt GUIDs or files",
        )
    # Every value that goes into the message meets the official XSD's facets (one table: xsd_facets).
    problems.extend(xsd_facets.problems("description", data.description, f"{path}.description"))
    for i, p in enumerate(data.defendants):
        where = f"defendants.{i}"
        for name, value in (("last_name", p.last_name), ("first_name", p.first_name)):
            if not _blank(value):
                problems.extend(xsd_facets.problems("person_name", value.strip(), f"{path}.{where}.{name}"))
        middle = (p.middle_name or "").strip() or None
        problems.extend(xsd_facets.problems("person_name", middle, f"{path}.{where}.middle_name"))
        if p.document is not None:
            doc_path = f"{path}.{where}.document"
            problems.extend(xsd_facets.problems("nsi_code", p.document.type_code, f"{doc_path}.type_code"))
            problems.extend(xsd_facets.problems("document_series", p.document.series, f"{doc_path}.series"))
            if not _blank(p.document.number):
                number = p.document.number.strip()
                problems.extend(xsd_facets.problems("document_number", number, f"{doc_path}.number"))
        if _blank(p.last_name):
            bad(f"{where}.last_name", "required", "last name is required")
        if _blank(p.first_name):
            bad(f"{where}.first_name", "required", "first name is required")
        # СНИЛС is optional in the XSD but mandatory in the product (domain-rules §2, action 3).
        if _blank(p.snils):
            bad(f"{where}.snils", "snils_required", "СНИЛС is required for every defendant")
        elif not is_valid_snils(p.snils or ""):
            digits = "".join(ch for ch in (p.snils or "") if ch.isdigit())
            rule = "snils_checksum" if len(digits) == 11 else "snils_format"
            message = (
                "СНИЛС check digits are wrong" if rule == "snils_checksum" else "СНИЛС must have 11 digits"
            )
            bad(f"{where}.snils", rule, message)
        if p.document is not None:
            if p.document.type_code not in nsi95:
                bad(
                    f"{where}.document.type_code",
                    "nsi95_code",
                    "unknown identity-document type (NSI 95 as loaded from GIS)",
                )
            if _blank(p.document.number):
                bad(f"{where}.document.number", "required", "document number is required")
        for j, doc_id in enumerate(p.document_ids):
            if doc_id not in documents:
                bad(f"{where}.document_ids.{j}", "document_unknown", "no such document on this request")
    for j, doc_id in enumerate(data.additional_document_ids):
        if doc_id not in documents:
            bad(f"additional_document_ids.{j}", "document_unknown", "no such document on this request")
    return problems


def state_problem(sub: DebtSubrequest | RequestState, path: str) -> d.FieldProblem | None:
    """Return why the request cannot take an answer now (archived, sent, in flight), or None."""
    if sub.status == ARCHIVED:
        return d.FieldProblem(path, "request_archived", "the request is archived; it takes no answer")
    if sub.status == SENT:
        return d.FieldProblem(path, "request_sent", "the answer was sent; revoke it before answering again")
    if sub.send_batch_id is not None:
        return d.FieldProblem(path, "request_in_flight", "the answer is being sent to GIS right now")
    if sub.status not in ANSWERABLE:
        return d.FieldProblem(path, "request_status", f"a {sub.status} request takes no answer")
    return None


def _defendant_json(p: DefendantInput, nsi95: dict[str, dict[str, str]]) -> dict[str, Any]:
    doc = None
    if p.document is not None:
        ref = nsi95.get(p.document.type_code, {})
        doc = {
            "type_code": p.document.type_code,
            "type_guid": ref.get("guid"),
            "type_name": ref.get("name"),
            "series": p.document.series,
            "number": p.document.number.strip(),
        }
    return {
        "last_name": p.last_name.strip(),
        "first_name": p.first_name.strip(),
        "middle_name": (p.middle_name or "").strip() or None,
        "snils": normalize_snils(p.snils or ""),
        "document": doc,
        "document_ids": [str(x) for x in p.document_ids],
    }


async def _executor_guid(session: AsyncSession, organisation_id: uuid.UUID, path: str) -> uuid.UUID:
    org = await session.get(Organisation, organisation_id)
    if org is None or org.executor_guid is None:
        raise d.RuleViolation(
            "The organisation has no executor GUID (the employee who forms answers); set it first.",
            rule="executor_guid_missing",
            errors=[d.FieldProblem(path, "executor_guid_missing", "organisation executor_guid is not set")],
        )
    return org.executor_guid


async def documents_of(subrequest_id: uuid.UUID, *, session: AsyncSession) -> dict[uuid.UUID, DebtDocument]:
    """Return the documents uploaded for a subrequest by id."""
    rows = await session.scalars(select(DebtDocument).where(DebtDocument.subrequest_id == subrequest_id))
    return {doc.id: doc for doc in rows}


async def set_answer(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    subrequest_id: uuid.UUID,
    data: AnswerInput,
    expected_version: int | None = None,
    source: str = "manual",
) -> DebtSubrequest:
    """Draft (or replace) the answer to one request; the request becomes prepared."""
    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session, for_update=True)
    check_version(sub, expected_version)
    problem = state_problem(sub, "debt_request_id")
    if problem is not None:
        raise d.ConflictError(
            f"Debt request {sub.id}: {problem.message}.", rule=problem.rule, errors=[problem]
        )
    documents = await documents_of(sub.id, session=session)
    nsi95 = await nsi.table(nsi.IDENTITY_DOCUMENTS, session=session, settings=settings)
    problems = validate_answer(data, path="body", documents=documents, nsi95=nsi95)
    if problems:
        raise d.RuleViolation(
            f"The answer to debt request {sub.id} breaks {len(problems)} rule(s): "
            + ", ".join(sorted({p.rule for p in problems}))
            + ".",
            rule=problems[0].rule,
            errors=problems,
        )
    executor = await _executor_guid(session, sub.organisation_id, "organisation.executor_guid")
    await session.execute(delete(DebtAnswer).where(DebtAnswer.subrequest_id == sub.id))
    session.add(
        DebtAnswer(
            subrequest_id=sub.id,
            has_debt=data.has_debt,
            description=data.description,
            executor_guid=executor,
            defendants=[_defendant_json(p, nsi95) for p in data.defendants],
            debt_guids=[str(g) for g in data.debt_guids],
            additional_document_ids=[str(x) for x in data.additional_document_ids],
            source=source,
            prepared_by=principal.actor,
        )
    )
    sub.last_error_code = None
    sub.last_error_text = None
    await set_status(
        sub, PREPARED, session=session, actor=principal.actor, reason=f"answer drafted ({source})"
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.answer",
        resource_type="debt_request",
        resource_id=sub.id,
        organisation_id=sub.organisation_id,
        details={"has_debt": data.has_debt, "defendants": len(data.defendants), "source": source},
    )
    return sub


async def get_answer(subrequest_id: uuid.UUID, *, session: AsyncSession) -> DebtAnswer | None:
    """Return the drafted (or sent) answer of a request."""
    return await session.scalar(select(DebtAnswer).where(DebtAnswer.subrequest_id == subrequest_id))


@dataclass(frozen=True)
class Skipped:
    """A request a bulk action left alone, and why (a rule and words a billing user understands)."""

    id: uuid.UUID
    rule: str
    message: str


@dataclass(frozen=True)
class NoDebtResult:
    """Outcome of a mass "no debt" answer."""

    prepared: int
    skipped: int
    ids: list[uuid.UUID]
    skipped_items: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Drafted:
    has_debt: bool
    source: str
    prepared_by: str


async def _drafted(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Drafted]:
    """Return what the skip message needs of the answers already drafted (or sent, or revoked)."""
    found: dict[uuid.UUID, _Drafted] = {}
    columns = (DebtAnswer.subrequest_id, DebtAnswer.has_debt, DebtAnswer.source, DebtAnswer.prepared_by)
    for chunk in chunks(list(ids), 500):
        for sid, has_debt, source, prepared_by in await session.execute(
            select(*columns).where(DebtAnswer.subrequest_id.in_(chunk))
        ):
            found[sid] = _Drafted(has_debt, source, prepared_by)
    return found


def _kept(sid: uuid.UUID, answer: _Drafted) -> Skipped:
    kind = "has debt" if answer.has_debt else "no debt"
    return Skipped(
        sid,
        "answer_drafted",
        f"an answer ({kind}, {answer.source}, by {answer.prepared_by}) is already drafted; "
        "list the id with overwrite=true to replace it",
    )


async def answer_no_debt(
    *,
    session: AsyncSession,
    principal: Principal,
    ids: Sequence[uuid.UUID] | None = None,
    candidates: Sequence[DebtSubrequest | RequestState] | None = None,
    description: str | None = None,
    overwrite: bool = False,
) -> NoDebtResult:
    """Draft "no debt" answers where none is drafted yet; with explicit ids and `overwrite`, replace them."""
    # A false "no debt" for a debtor with a court-confirmed debt is the worst answer this product can send,
    # so a bulk action never replaces a drafted answer unless the caller named the request and asked to.
    if overwrite and ids is None:
        raise d.RuleViolation(
            "overwrite=true replaces drafted answers only for requests listed by id, never for a filter.",
            rule="overwrite_needs_ids",
            errors=[d.FieldProblem("body.overwrite", "overwrite_needs_ids", "list the ids to overwrite")],
        )
    bad_description = xsd_facets.problems("description", description, "body.description")
    if bad_description:
        raise d.RuleViolation(
            "The description cannot be sent to GIS.", rule=bad_description[0].rule, errors=bad_description
        )
    skipped_items: list[Skipped] = []
    if ids is not None:
        rows = list(
            (await session.scalars(select(DebtSubrequest).where(DebtSubrequest.id.in_(list(ids))))).all()
        )
        by_id = {r.id: r for r in rows if principal.may_access(r.organisation_id)}
        problems: list[d.FieldProblem] = []
        for i, sid in enumerate(ids):
            sub = by_id.get(sid)
            if sub is None:
                problems.append(
                    d.FieldProblem(f"body.ids.{i}", "debt_request_exists", f"debt request {sid} not found")
                )
                continue
            problem = state_problem(sub, f"body.ids.{i}")
            if problem is not None:
                problems.append(
                    d.FieldProblem(problem.path, problem.rule, f"debt request {sid}: {problem.message}")
                )
        if problems:
            raise d.RuleViolation(
                f"{len(problems)} of {len(ids)} selected requests cannot be answered 'no debt'; none changed",
                rule=problems[0].rule,
                errors=problems,
            )
        selected: list[DebtSubrequest | RequestState] = [by_id[sid] for sid in dict.fromkeys(ids)]
    else:
        pool = list(candidates or [])
        selected = []
        for s in pool:
            problem = state_problem(s, "")
            if problem is None:
                selected.append(s)
            else:
                skipped_items.append(Skipped(s.id, problem.rule, problem.message))
    if not overwrite:
        drafted = await _drafted(session, [s.id for s in selected])
        skipped_items.extend(_kept(s.id, drafted[s.id]) for s in selected if s.id in drafted)
        selected = [s for s in selected if s.id not in drafted]
    skipped = len(skipped_items)
    if not selected:
        return NoDebtResult(prepared=0, skipped=skipped, ids=[], skipped_items=skipped_items)
    executors: dict[uuid.UUID, uuid.UUID] = {}
    for org_id in {s.organisation_id for s in selected}:
        executors[org_id] = await _executor_guid(session, org_id, "organisation.executor_guid")
    now = utcnow()
    # Read what the history and audit need before the bulk statements (they may expire these objects).
    previous = [(s.id, s.status, s.organisation_id) for s in selected]
    sel_ids = [s.id for s in selected]
    for chunk in chunks(sel_ids, 500):
        await session.execute(delete(DebtAnswer).where(DebtAnswer.subrequest_id.in_(chunk)))
        await session.execute(
            update(DebtSubrequest)
            .where(DebtSubrequest.id.in_(chunk))
            .values(
                status=PREPARED,
                last_error_code=None,
                last_error_text=None,
                version=DebtSubrequest.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        insert(DebtAnswer),
        [
            {
                "id": uuid.uuid4(),
                "subrequest_id": sid,
                "has_debt": False,
                "description": description,
                "executor_guid": executors[org_id],
                "defendants": [],
                "debt_guids": [],
                "additional_document_ids": [],
                "source": "no_debt",
                "prepared_by": principal.actor,
                "created_at": now,
                "updated_at": now,
            }
            for sid, _, org_id in previous
        ],
    )
    await add_history(
        (
            history_row(
                sid,
                actor=principal.actor,
                from_status=status,
                to_status=PREPARED,
                reason="mass 'no debt' answer" + (" (overwrite)" if overwrite else ""),
                at=now,
            )
            for sid, status, _ in previous
        ),
        session=session,
    )
    # Keep the identity map truthful for callers that go on using these objects in this session.
    for s in selected:
        if isinstance(s, DebtSubrequest):
            session.expire(s)
    for org_id in executors:
        count = sum(1 for _, _, o in previous if o == org_id)
        await audit.record(
            session=session,
            principal=principal,
            action="debt_request.answer_no_debt",
            resource_type="debt_request",
            organisation_id=org_id,
            details={"count": count, "overwrite": overwrite, "skipped": skipped},
        )
    return NoDebtResult(prepared=len(selected), skipped=skipped, ids=sel_ids, skipped_items=skipped_items)


# ------------------------------------------------------------------------------------------------ documents


async def add_document(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    files: FileStoreGis,
    subrequest_id: uuid.UUID,
    nsi_code: str,
    file_name: str,
    description: str | None,
    content_type: str | None,
    data: bytes,
) -> DebtDocument:
    """Store a file for a request's answer (court-act copy, reconciliation act, account statement)."""
    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session)
    problem = state_problem(sub, "debt_request_id")
    if problem is not None:
        raise d.ConflictError(
            f"Debt request {sub.id}: {problem.message}.", rule=problem.rule, errors=[problem]
        )
    problems: list[d.FieldProblem] = []
    ref = (await nsi.table(nsi.DEBT_DOCUMENTS, session=session, settings=settings)).get(nsi_code)
    if ref is None:
        problems.append(
            d.FieldProblem(
                "body.type_code", "nsi358_code", "unknown document type (NSI 358 as loaded from GIS)"
            )
        )
    if not data:
        problems.append(d.FieldProblem("body.file", "file_empty", "the file is empty"))
    if len(data) > settings.debt.document_max_bytes:
        problems.append(
            d.FieldProblem("body.file", "file_too_large", f"at most {settings.debt.document_max_bytes} bytes")
        )
    clean_name = "".join(ch for ch in file_name if ch not in '<>?:|*%"\\/').strip()
    if not clean_name:
        problems.append(d.FieldProblem("body.file", "file_name", "the file needs a name"))
    else:
        problems.extend(xsd_facets.problems("attachment_name", clean_name, "body.file.filename"))
    if description:
        problems.extend(xsd_facets.problems("attachment_description", description, "body.description"))
    if problems:
        raise d.RuleViolation(
            f"The document for debt request {sub.id} was refused.", rule=problems[0].rule, errors=problems
        )
    assert ref is not None
    doc = DebtDocument(
        subrequest_id=sub.id,
        organisation_id=sub.organisation_id,
        nsi_code=nsi_code,
        nsi_guid=uuid.UUID(ref["guid"]),
        nsi_name=ref.get("name"),
        file_name=clean_name[:1024],
        description=(description or ref.get("name") or clean_name)[:500],
        content_type=content_type,
        size=len(data),
        gost94_hash=files.attachment_hash(data),
        data=data,
    )
    session.add(doc)
    await session.flush()
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.document_add",
        resource_type="debt_document",
        resource_id=doc.id,
        organisation_id=sub.organisation_id,
        details={"debt_request_id": str(sub.id), "nsi_code": nsi_code, "size": len(data)},
    )
    return doc


async def delete_document(
    *, session: AsyncSession, principal: Principal, subrequest_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """Remove a document that no sent answer references."""
    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session)
    doc = await session.get(DebtDocument, document_id)
    if doc is None or doc.subrequest_id != sub.id:
        raise d.NotFoundError(f"Document {document_id} not found.", rule="document_exists")
    problem = state_problem(sub, "debt_request_id")
    if problem is not None:
        raise d.ConflictError(
            f"Debt request {sub.id}: {problem.message}.", rule=problem.rule, errors=[problem]
        )
    answer = await get_answer(sub.id, session=session)
    if answer is not None:
        used = set(answer.additional_document_ids) | {
            x for p in answer.defendants for x in p.get("document_ids", [])
        }
        if str(document_id) in used:
            raise d.ConflictError(
                "The document is referenced by the drafted answer; change the answer first.",
                rule="document_in_use",
                errors=[d.FieldProblem("document_id", "document_in_use", "referenced by the answer")],
            )
    await session.delete(doc)
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.document_delete",
        resource_type="debt_document",
        resource_id=document_id,
        organisation_id=sub.organisation_id,
    )


# ------------------------------------------------------------------------------------------------- pre-fill


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def draft_from_debts(debts: Sequence[Any], *, agreement_answer: str) -> AnswerInput | None:
    """Draft an answer from court-confirmed debts: GUIDs if all are placed in GIS, else defendants."""
    relevant = [
        x for x in debts if not (agreement_answer == "no_debt" and _attr(x, "agreement_complied", "complies"))
    ]
    if not relevant:
        return None
    guids = [_attr(x, "gis_debt_guid", "debt_guid") for x in relevant]
    if all(guids):
        return AnswerInput(has_debt=True, debt_guids=tuple(uuid.UUID(str(g)) for g in dict.fromkeys(guids)))
    defendants: dict[tuple[str, str, str], DefendantInput] = {}
    for x in relevant:
        snils = _attr(x, "snils", "debtor_snils") or ""
        last = _attr(x, "last_name", "debtor_last_name", "surname") or ""
        first = _attr(x, "first_name", "debtor_first_name") or ""
        middle = _attr(x, "middle_name", "debtor_middle_name", "patronymic")
        key = (snils, last, first)
        if key not in defendants:
            defendants[key] = DefendantInput(
                last_name=last, first_name=first, middle_name=middle, snils=snils
            )
    act_numbers = sorted({str(n) for x in relevant if (n := _attr(x, "act_number", "judicial_act_number"))})
    description = ("Судебные акты: " + ", ".join(act_numbers))[:MAX_DESCRIPTION] if act_numbers else None
    return AnswerInput(has_debt=True, defendants=tuple(defendants.values()), description=description)
