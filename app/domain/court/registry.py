"""Court-confirmed debts: the local registry and its GIS twin (debts service, importDebt / exportDebt).

A debt enters the local registry when its court order comes into force (`court_cases`), and is then placed in
GIS's registry of court-confirmed debts (gis-protocol §11). Debt-request answers reference those records by
`debtGUID`, or list the debtor from the local record when it is not placed (ЖК РФ ст. 159, 160).

One family of ~600 lines, kept whole on purpose: placing, annulling, repaying and reconciling share the
record's states and the GIS result handling, and split apart each would need the others' internals.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.base import utcnow
from app.db.models.accounts import Account, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.db.models.court import (
    CANCELLED,
    NOT_PLACED,
    PLACE_FAILED,
    PLACED,
    PLACING,
    CourtCase,
    CourtCaseEvent,
    CourtConfirmedDebt,
)
from app.domain.court.rules import CourtRules, court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.gis_port import FileStoreGis
from app.domain.kernel.snils import is_valid_snils
from app.gis_client import messages as m


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """The debtor's identity document (type code as in NSI 95)."""

    type: str | None
    series: str | None = field(repr=False)
    number: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConfirmedDebt:
    """A court-confirmed debt of one account, as a debt-request answer needs it. Personal data: no repr."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    last_name: str = field(repr=False)
    first_name: str = field(repr=False)
    middle_name: str | None = field(repr=False)
    snils: str | None = field(repr=False)
    identity_document: IdentityDocument | None = field(repr=False)
    act_number: str
    #: Entry into force of the court act (JudicalActDate).
    act_date: date
    act_pronouncing_date: date
    amount: Decimal
    period_from: date | None
    period_to: date | None
    #: DebtGUID once placed in GIS's registry (and not annulled there); None otherwise.
    gis_debt_guid: str | None
    repaid: bool
    case_id: uuid.UUID | None
    #: The debtor keeps a repayment agreement on this account (set by the debt-request pre-fill).
    agreement_complied: bool = False


def _to_confirmed(row: CourtConfirmedDebt) -> ConfirmedDebt:
    document = (
        IdentityDocument(type=row.id_doc_type, series=row.id_doc_series, number=row.id_doc_number)
        if row.id_doc_number
        else None
    )
    published = row.gis_debt_guid if row.gis_status != "CANCELLED" else None
    return ConfirmedDebt(
        id=row.id,
        account_id=row.account_id,
        last_name=row.last_name,
        first_name=row.first_name,
        middle_name=row.middle_name,
        snils=row.snils,
        identity_document=document,
        act_number=row.act_number,
        act_date=row.act_date,
        act_pronouncing_date=row.act_pronouncing_date,
        amount=row.amount,
        period_from=row.period_from,
        period_to=row.period_to,
        gis_debt_guid=published,
        repaid=row.repayment_status == "PAID",
        case_id=row.case_id,
    )


async def confirmed_debts_for_accounts(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    include_repaid: bool = False,
) -> list[ConfirmedDebt]:
    """Return the organisation's unpaid, not annulled court-confirmed debts of these accounts.

    ЖК РФ ст. 159 ч. 1: only debt confirmed by a court act in force and still unpaid counts in debt-request
    answers, so repaid and annulled records are left out unless `include_repaid`. Ordered by account, then
    act date.
    """
    if not account_ids:
        return []
    stmt = (
        select(CourtConfirmedDebt)
        .where(
            CourtConfirmedDebt.organisation_id == organisation_id,
            CourtConfirmedDebt.account_id.in_(list(dict.fromkeys(account_ids))),
            CourtConfirmedDebt.annulled_on.is_(None),
        )
        .order_by(CourtConfirmedDebt.account_id, CourtConfirmedDebt.act_date, CourtConfirmedDebt.id)
    )
    if not include_repaid:
        stmt = stmt.where(CourtConfirmedDebt.repayment_status != "PAID")
    rows = (await session.scalars(stmt)).all()
    return [_to_confirmed(row) for row in rows]


# --------------------------------------------------------------------------------- GIS registry actions

RegistryAction = Literal["place", "edit", "annul", "repayment", "annul_repayment"]
REGISTRY_JOB = "court-registry"
RECONCILE_JOB = "court-registry-reconcile"
_EXPORT_PAGE_LIMIT = 10_000  # pages of 1000: a safety stop far above any organisation's registry


@dataclass(frozen=True)
class RegistryRequest:
    """What the user asks of GIS's registry for one debt."""

    action: RegistryAction
    reason_code: str | None = None
    reason_guid: str | None = None
    reason_text: str | None = None
    additional_info: str | None = None
    repaid_on: date | None = None


async def debt_of_case(
    *, session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> CourtConfirmedDebt:
    """Return the confirmed debt of a case (it exists once the order is in force)."""
    debt = await session.scalar(select(CourtConfirmedDebt).where(CourtConfirmedDebt.case_id == case_id))
    if debt is None or not principal.may_access(debt.organisation_id):
        raise errors.ConflictError(
            "The case has no court-confirmed debt yet: the order must be in force first.", rule="not_in_force"
        )
    return debt


def _check_request(debt: CourtConfirmedDebt, request: RegistryRequest) -> None:
    placed = debt.gis_debt_guid is not None and debt.gis_status != "CANCELLED"
    if request.action == "place":
        if placed or debt.placement == PLACING:
            raise errors.ConflictError("The debt is already placed (or being placed) in GIS.", rule="placed")
        return
    if not placed:
        raise errors.ConflictError(
            "The debt is not placed in GIS (or was annulled there).", rule="not_placed"
        )
    if request.action in ("annul", "annul_repayment") and not (request.reason_code and request.reason_guid):
        nsi = "365" if request.action == "annul" else "366"
        raise errors.RuleViolation(
            f"An annulment needs its reason from NSI {nsi} (code and GUID).",
            errors=[errors.FieldProblem("body.reason_code", "missing", f"NSI {nsi} reason required")],
            rule="annulment_reason",
        )
    if request.action == "annul_repayment" and debt.repayment_status != "PAID":
        raise errors.ConflictError("No repayment is recorded for this debt.", rule="not_repaid")
    if request.action == "repayment" and debt.repayment_status == "PAID":
        raise errors.ConflictError("The repayment is already recorded.", rule="repaid")


async def request_registry_action(
    *, session: AsyncSession, debt: CourtConfirmedDebt, request: RegistryRequest, principal: Principal
) -> Operation:
    """Validate a registry action and queue it as an operation (importDebt runs in the background)."""
    _check_request(debt, request)
    if request.action == "place":
        debt.placement = PLACING
        debt.last_error = None
    case = await session.get(CourtCase, debt.case_id) if debt.case_id else None
    # A placement carries the act file; an edit only a file not sent yet (attached or replaced since), so
    # editing the additional info does not pile copies of the act onto the GIS record.
    attach_act = bool(case and case.act_file) and (
        request.action == "place"
        or (request.action == "edit" and case is not None and case.act_file_guid is None)
    )
    op = await ops.create(
        session=session,
        principal=principal,
        kind=REGISTRY_JOB,
        organisation_id=debt.organisation_id,
        params={
            "debt_id": str(debt.id),
            "action": request.action,
            "reason_code": request.reason_code,
            "reason_guid": request.reason_guid,
            "reason_text": request.reason_text,
            "additional_info": request.additional_info,
            "repaid_on": request.repaid_on.isoformat() if request.repaid_on else None,
            "attach_act": attach_act,
        },
        total=1,
    )
    await audit.record(
        session=session,
        principal=principal,
        action=f"court_registry.{request.action}",
        resource_type="court_confirmed_debt",
        resource_id=debt.id,
        organisation_id=debt.organisation_id,
        details={"operation_id": str(op.id)},
    )
    return op


# ------------------------------------------------------------------------------------ the loop, closed


def next_registry_action(
    debt: CourtConfirmedDebt, case: CourtCase | None, paid: Decimal, paid_on: date | None, rules: CourtRules
) -> RegistryRequest | None:
    """Return the registry action the case's state calls for next, if any (pure).

    A cancelled order annuls its placed debt (AnnulmentDebt, NSI 365 reason from settings); an order in force
    not placed yet is placed (PlacingDebt); payments covering the debt record its repayment
    (PlacingDebtRepayment). A placement in flight or failed waits: its job (or the user) takes it on.
    """
    placed = debt.gis_debt_guid is not None and debt.gis_status != "CANCELLED"
    if case is not None and case.status == CANCELLED:
        if placed and rules.annulment_reason is not None:
            code, guid = rules.annulment_reason
            return RegistryRequest(
                "annul", reason_code=code, reason_guid=guid, reason_text="Судебный приказ отменён"
            )
        return None
    if debt.placement == NOT_PLACED and debt.gis_debt_guid is None and debt.annulled_on is None:
        return RegistryRequest("place")
    if placed and debt.repayment_status != "PAID" and paid > 0 and paid >= debt.amount:
        return RegistryRequest("repayment", repaid_on=paid_on)
    return None


async def payments_of(session: AsyncSession, case_id: uuid.UUID) -> tuple[Decimal, date | None]:
    """Return the sum received against a case's order (its payment events) and the last payment's date."""
    rows = (
        await session.execute(
            select(CourtCaseEvent.details, CourtCaseEvent.on_date).where(
                CourtCaseEvent.case_id == case_id, CourtCaseEvent.type == "payment"
            )
        )
    ).all()
    total = sum((Decimal((details or {}).get("amount", "0")) for details, _ in rows), Decimal(0))
    last = max((on for _, on in rows if on is not None), default=None)
    return total, last


async def close_registry_loop(
    *, session: AsyncSession, case: CourtCase, rules: CourtRules, principal: Principal
) -> Operation | None:
    """Queue the registry action the case calls for when GISGW_COURT_REGISTRY_AUTO is on; return it."""
    if not rules.registry_auto:
        return None
    debt = await session.scalar(select(CourtConfirmedDebt).where(CourtConfirmedDebt.case_id == case.id))
    if debt is None:
        return None
    paid, paid_on = await payments_of(session, case.id)
    request = next_registry_action(debt, case, paid, paid_on, rules)
    if request is None:
        if case.status == CANCELLED and debt.gis_debt_guid and debt.gis_status != "CANCELLED":
            debt.last_error = (
                "The order is cancelled but its debt stays placed in GIS: set "
                "GISGW_COURT_ANNULMENT_REASON_CODE and _GUID (NSI 365) or annul it by hand."
            )
        return None
    return await request_registry_action(session=session, debt=debt, request=request, principal=principal)


def debt_object(debt: CourtConfirmedDebt) -> m.DebtObject:
    """Return the GIS debt object: the premises when known, else the house (GIS or FIAS GUID)."""
    if debt.premise_guid:
        return m.DebtObject(premise_guid=str(debt.premise_guid))
    if debt.house_guid:
        return m.DebtObject(house_guid=str(debt.house_guid))
    if debt.fias_house_guid:
        return m.DebtObject(fias_house_guid=str(debt.fias_house_guid))
    raise errors.RuleViolation(
        "The debt has no premises or house GUID; sync the accounts with GIS first.", rule="debt_object"
    )


def debtor_data(debt: CourtConfirmedDebt) -> m.Debtor:
    """Return DebtorData. The identity document is left out: it needs NSI 95 GUIDs; SNILS/INN identify."""
    inn = debt.inn if debt.inn and len(debt.inn) == 12 else None
    return m.Debtor(
        surname=debt.last_name,
        first_name=debt.first_name,
        patronymic=debt.middle_name,
        inn=inn,
        snils=debt.snils if debt.snils and is_valid_snils(debt.snils) else None,
    )


async def _act_attachments(
    ctx: AppContext, gis: FileStoreGis, debt: CourtConfirmedDebt, case: CourtCase | None
) -> tuple[m.Attachment, ...]:
    """Return the act file as an attachment, uploading it to the file store first when needed.

    Runs outside any transaction (the upload is an HTTP exchange); the GUID and hash are stored in a short
    one, unless the file was replaced meanwhile (the case's version changed).
    """
    if case is None or not case.act_file:
        return ()
    guid, digest = case.act_file_guid, case.act_file_hash
    if guid is None or digest is None:
        # Upload first, then reference the file by GUID with its GOST R 34.11-94 hash (gis-protocol §12).
        digest = gis.attachment_hash(case.act_file)
        guid = await gis.upload_file(
            debt.organisation_id,
            ctx.settings.court.file_store_context,
            case.act_file_name or "act.pdf",
            case.act_file,
        )
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(
                update(CourtCase)
                .where(CourtCase.id == case.id, CourtCase.version == case.version)
                .values(act_file_guid=guid, act_file_hash=digest)
            )
    return (
        m.Attachment(
            name=(case.act_file_name or "act.pdf")[:1024],
            description="Судебный приказ",
            attachment_guid=guid,
            hash=digest,
        ),
    )


def _operation(
    debt: CourtConfirmedDebt, params: dict[str, Any], attachments: tuple[m.Attachment, ...]
) -> m.DebtOperation:
    action = params["action"]
    guid = debt.gis_debt_guid or ""
    if action == "place":
        return m.PlacingDebt(
            debt_object=debt_object(debt),
            debtor=debtor_data(debt),
            judicial_act=m.JudicialAct(
                number=debt.act_number,
                date=debt.act_date,
                date_pronouncing=debt.act_pronouncing_date,
                attachments=attachments,
            ),
            additional_info=params.get("additional_info") or debt.additional_info,
        )
    if action == "edit":
        return m.EditDebt(
            debt_guid=guid, additional_attachments=attachments, additional_info=params.get("additional_info")
        )
    if action == "annul":
        return m.AnnulmentDebt(
            debt_guid=guid,
            reason=m.NsiRef(code=params["reason_code"], guid=params["reason_guid"]),
            text_reason=params.get("reason_text"),
        )
    if action == "repayment":
        repaid = params.get("repaid_on")
        return m.PlacingDebtRepayment(
            debt_guid=guid,
            placing_info=params.get("additional_info"),
            placing_date=date.fromisoformat(repaid) if repaid else None,
        )
    return m.AnnulmentDebtRepayment(
        debt_guid=guid,
        reason=m.NsiRef(code=params["reason_code"], guid=params["reason_guid"]),
        text_reason=params.get("reason_text"),
    )


def apply_registry_result(
    debt: CourtConfirmedDebt, params: dict[str, Any], result: m.CommonResult | None
) -> bool:
    """Apply GIS's answer to one registry action to the local record; return whether GIS accepted it."""
    action = params["action"]
    if result is None or not result.ok:
        text = "; ".join(f"{e.code}: {e.description}" for e in result.errors) if result else "no result"
        debt.last_error = text[:2000]
        if action == "place":
            debt.placement = PLACE_FAILED
        return False
    debt.last_error = None
    debt.gis_synced_at = utcnow()
    if action == "place":
        debt.placement, debt.gis_debt_guid, debt.gis_status = PLACED, result.guid, "PUBLISHED"
        # Placed again after an annulment: the new record confirms the debt again.
        debt.annulled_on = debt.annulment_reason = None
        debt.repayment_status, debt.repaid_on = "UNPAID", None
    elif action == "annul":
        debt.gis_status = "CANCELLED"
        debt.annulled_on = moscow_today()
        debt.annulment_reason = params.get("reason_text") or params.get("reason_code")
    elif action == "repayment":
        debt.repayment_status = "PAID"
        repaid = params.get("repaid_on")
        debt.repaid_on = date.fromisoformat(repaid) if repaid else moscow_today()
    elif action == "annul_repayment":
        debt.repayment_status, debt.repaid_on = "UNPAID", None
    return True


async def run_registry_action(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Send one registry action (importDebt) and apply GIS's answer to the local record."""
    params = dict(op.params or {})
    debt_id = uuid.UUID(params["debt_id"])
    gis = ctx.gis
    if gis is None:
        raise errors.UpstreamUnavailable("The GIS client is not running.")
    async with ctx.sessionmaker() as session:
        debt = await session.get(CourtConfirmedDebt, debt_id)
        if debt is None:
            raise errors.NotFoundError(f"Confirmed debt {debt_id} not found.")
        case = await session.get(CourtCase, debt.case_id) if debt.case_id else None
    attach = params["action"] == "place" or (params["action"] == "edit" and params.get("attach_act"))
    attachments = await _act_attachments(ctx, gis, debt, case) if attach else ()
    operation = _operation(debt, params, attachments)
    transport = str(uuid.uuid5(op.id, "debt"))
    try:
        # The idempotency key ties the exchange to this operation: a re-run after a crash waits for the
        # same exchange instead of placing the debt twice.
        assert op.organisation_id is not None
        results = await gis.import_debts(
            organisation_id=op.organisation_id,
            items=[m.DebtImportItem(transport_guid=transport, operation=operation)],
            ref_kind="court-registry",
            ref_id=str(debt_id),
            idempotency_key=f"court-registry:{op.id}",
        )
    except Exception as exc:
        async with ctx.sessionmaker() as session, session.begin():
            debt = await session.get(CourtConfirmedDebt, debt_id)
            if debt is not None:
                debt.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if params["action"] == "place":
                    debt.placement = PLACE_FAILED
        raise
    mine = next((r for r in results if r.transport_guid == transport), None)
    async with ctx.sessionmaker() as session, session.begin():
        debt = await session.get(CourtConfirmedDebt, debt_id)
        assert debt is not None
        ok = apply_registry_result(debt, params, mine)
        if ok and case is not None:
            # The loop goes on from the new state: a placed debt already paid or cancelled moves on at once.
            loop = Principal(
                key_id=op.key_id,
                name="court-registry-loop",
                scopes=frozenset({"court"}),
                organisation_ids=frozenset({debt.organisation_id}),
            )
            fresh = await session.get(CourtCase, case.id)
            if fresh is not None:
                await close_registry_loop(
                    session=session, case=fresh, rules=court_rules(ctx.settings), principal=loop
                )
        if not ok and attachments and debt.case_id:
            # Refused (a hash or file-store problem?): upload afresh next time, and let an edit send it.
            case = await session.get(CourtCase, debt.case_id)
            if case is not None:
                case.act_file_guid = case.act_file_hash = None
        guid, error = debt.gis_debt_guid, debt.last_error
    await progress(1, 1)
    return {
        "debt_id": str(debt_id),
        "action": params["action"],
        "ok": ok,
        "gis_debt_guid": guid,
        "error": error,
    }


# --------------------------------------------------------------------------------------------- reconcile

#: The report lists at most this many ids per kind (the counts cover all): an operation result stays small.
REPORT_LIST_LIMIT = 1000


@dataclass
class ReconcileReport:
    """Differences between the local registry and GIS's export."""

    exported: int = 0
    pages: int = 0
    updated: int = 0
    linked: list[str] = field(default_factory=list)
    missing_in_gis: list[str] = field(default_factory=list)
    missing_locally: list[str] = field(default_factory=list)
    status_changed: list[dict[str, str]] = field(default_factory=list)
    #: Debts found only in GIS, now local records (DebtGUIDs); those no account could be linked to.
    imported: list[str] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "linked": 0,
            "missing_in_gis": 0,
            "missing_locally": 0,
            "status_changed": 0,
            "imported": 0,
            "unlinked": 0,
        }
    )
    #: Published debts of the current page known only to GIS, imported after the page is reconciled.
    to_import: list[m.ExportedDebt] = field(default_factory=list)

    def add(self, kind: str, item: Any) -> None:
        """Count a difference and list it while the list is under REPORT_LIST_LIMIT."""
        self.counts[kind] += 1
        target: list[Any] = getattr(self, kind)
        if len(target) < REPORT_LIST_LIMIT:
            target.append(item)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form (ids and GUIDs only, no personal data)."""
        return {
            "exported": self.exported,
            "pages": self.pages,
            "updated": self.updated,
            "linked": self.linked,
            "missing_in_gis": self.missing_in_gis,
            "missing_locally": self.missing_locally,
            "status_changed": self.status_changed,
            "imported": self.imported,
            "unlinked": self.unlinked,
            "counts": dict(self.counts),
        }


def _changed(report: ReconcileReport, debt: CourtConfirmedDebt, name: str, local: Any, gis: str) -> None:
    report.add("status_changed", {"debt_id": str(debt.id), "field": name, "local": str(local), "gis": gis})


def reconcile_page(
    local: list[CourtConfirmedDebt],
    exported: Sequence[m.ExportedDebt],
    report: ReconcileReport,
    seen: set[str],
) -> None:
    """Apply one export page to the local records (pure apart from mutating them)."""
    by_guid = {d.gis_debt_guid: d for d in local if d.gis_debt_guid}
    for item in exported:
        report.exported += 1
        seen.add(item.debt_guid)
        debt = by_guid.get(item.debt_guid)
        if debt is None:
            # An uncertain or failed placement may have reached GIS: link it by the court act's number.
            debt = next(
                (
                    d
                    for d in local
                    if d.gis_debt_guid is None
                    and d.act_number == item.judicial_act.number
                    and d.last_name.casefold() == item.debtor.surname.casefold()
                ),
                None,
            )
            if debt is None:
                report.add("missing_locally", item.debt_guid)
                if item.status == "PUBLISHED":
                    report.to_import.append(item)
                continue
            debt.gis_debt_guid, debt.placement, debt.last_error = item.debt_guid, PLACED, None
            by_guid[item.debt_guid] = debt
            report.add("linked", str(debt.id))
        changed = False
        if debt.gis_status != item.status:
            _changed(report, debt, "status", debt.gis_status, item.status)
            debt.gis_status, changed = item.status, True
            if item.status == "CANCELLED" and debt.annulled_on is None:
                # Annulled in GIS (by hand or by another system): the record no longer confirms a debt.
                annulment = item.annulment
                debt.annulled_on = annulment.date if annulment and annulment.date else moscow_today()
                reason = None
                if annulment is not None:
                    reason = annulment.text_reason or (annulment.reason.code if annulment.reason else None)
                debt.annulment_reason = (reason or "annulled in GIS")[:500]
        if debt.repayment_status != item.repayment.status:
            _changed(report, debt, "repayment", debt.repayment_status, item.repayment.status)
            debt.repayment_status, changed = item.repayment.status, True
            debt.repaid_on = (
                (item.repayment.placing_date or moscow_today()) if item.repayment.status == "PAID" else None
            )
        debt.gis_synced_at = utcnow()
        report.updated += 1 if changed else 0


async def _account_for(
    session: AsyncSession, organisation_id: uuid.UUID, item: m.ExportedDebt
) -> uuid.UUID | None:
    """Find the organisation's account a GIS-only debt belongs to: its premises (or house), then the surname.

    The registry's export carries no ЕЛС or account number, only the debt object and the debtor: the premises
    GUID (synced from GIS into the accounts registry) narrows the accounts, the debtor's surname picks one.
    """
    obj = item.debt_object
    stmt = (
        select(Account.id, Account.last_name)
        .join(AccountPremises, AccountPremises.account_id == Account.id)
        .join(Premises, Premises.id == AccountPremises.premises_id)
        .where(Account.organisation_id == organisation_id)
    )
    if obj.premise_guid:
        stmt = stmt.where(Premises.gis_premises_guid == uuid.UUID(obj.premise_guid))
    elif obj.house_guid or obj.fias_house_guid:
        stmt = stmt.join(House, House.id == Premises.house_id)
        stmt = stmt.where(
            House.hm_object_guid == uuid.UUID(obj.house_guid)
            if obj.house_guid
            else House.fias_house_guid == uuid.UUID(str(obj.fias_house_guid))
        )
    else:
        return None
    # One account may cover several premises of a house: dict() keeps each account once.
    found: dict[uuid.UUID, str | None] = {
        row.id: row.last_name for row in (await session.execute(stmt.limit(1000))).all()
    }
    rows = list(found.items())
    surname = item.debtor.surname.casefold()
    named = [account_id for account_id, name in rows if (name or "").casefold() == surname]
    if len(named) == 1:
        return named[0]
    if len(rows) == 1 and obj.premise_guid:
        return rows[0][0]
    return None


async def import_gis_only(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    items: Sequence[m.ExportedDebt],
    report: ReconcileReport,
) -> None:
    """Keep debts found only in GIS as local records linked to accounts, so answers use them like our own."""
    for item in items:
        account_id = await _account_for(session, organisation_id, item)
        obj, act, debtor = item.debt_object, item.judicial_act, item.debtor
        session.add(
            CourtConfirmedDebt(
                organisation_id=organisation_id,
                case_id=None,
                account_id=account_id,
                last_name=debtor.surname[:100],
                first_name=debtor.first_name[:100],
                middle_name=(debtor.patronymic or None) and debtor.patronymic[:100],
                snils=debtor.snils,
                inn=debtor.inn,
                fias_house_guid=uuid.UUID(obj.fias_house_guid) if obj.fias_house_guid else None,
                house_guid=uuid.UUID(obj.house_guid) if obj.house_guid else None,
                premise_guid=uuid.UUID(obj.premise_guid) if obj.premise_guid else None,
                act_number=act.number[:255],
                act_date=act.date,
                act_pronouncing_date=act.date_pronouncing or act.date,
                # GIS's registry holds no amounts: the record confirms the debt, the sums stay unknown (0).
                principal=Decimal(0),
                penalties=Decimal(0),
                duty=Decimal(0),
                amount=Decimal(0),
                additional_info="imported from GIS's registry of court-confirmed debts",
                placement=PLACED,
                gis_debt_guid=item.debt_guid,
                gis_status=item.status,
                repayment_status=item.repayment.status,
                repaid_on=item.repayment.placing_date if item.repayment.status == "PAID" else None,
                gis_synced_at=utcnow(),
            )
        )
        report.add("imported", item.debt_guid)
        if account_id is None:
            report.add("unlinked", item.debt_guid)
    await session.flush()


async def request_reconcile(
    *, session: AsyncSession, organisation_id: uuid.UUID, principal: Principal
) -> Operation:
    """Queue an export of GIS's registry (exportDebt, pages of 1000) to reconcile the local records."""
    principal.require_org(organisation_id)
    op = await ops.create(
        session=session, principal=principal, kind=RECONCILE_JOB, organisation_id=organisation_id
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_registry.reconcile",
        resource_type="organisation",
        resource_id=organisation_id,
        organisation_id=organisation_id,
        details={"operation_id": str(op.id)},
    )
    return op


async def _records_for_page(
    session: AsyncSession, organisation_id: uuid.UUID, page: Sequence[m.ExportedDebt]
) -> list[CourtConfirmedDebt]:
    """Load the local records one export page can touch: by DebtGUID, and unlinked ones by act number."""
    guids = [d.debt_guid for d in page]
    acts = list({d.judicial_act.number for d in page})
    org = CourtConfirmedDebt.organisation_id == organisation_id
    rows: dict[uuid.UUID, CourtConfirmedDebt] = {}
    # IN lists of ≤ 1000 (one page) stay far below SQLite's and asyncpg's bound-parameter limits.
    for stmt in (
        select(CourtConfirmedDebt).where(org, CourtConfirmedDebt.gis_debt_guid.in_(guids)),
        select(CourtConfirmedDebt).where(
            org, CourtConfirmedDebt.gis_debt_guid.is_(None), CourtConfirmedDebt.act_number.in_(acts)
        ),
    ):
        for row in (await session.scalars(stmt)).all():
            rows[row.id] = row
    return list(rows.values())


async def run_reconcile(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Export GIS's registry page by page until IsLastPage and bring the local records in line.

    No transaction stays open while GIS is asked: each page is applied in a short transaction of its own
    (one page touches at most 1000 records), and the export can take minutes.
    """
    gis = ctx.gis
    if gis is None:
        raise errors.UpstreamUnavailable("The GIS client is not running.")
    organisation_id = op.organisation_id
    assert organisation_id is not None
    report = ReconcileReport()
    seen: set[str] = set()
    next_guid: str | None = None
    started = utcnow()
    complete = False
    while report.pages < _EXPORT_PAGE_LIMIT:
        page = await gis.export_debts(
            organisation_id=organisation_id,
            query=m.ExportDebtQuery(next_page_guid=next_guid),
            ref_kind="court-registry-export",
            ref_id=str(op.id),
            idempotency_key=f"court-registry-export:{op.id}:{report.pages}",
        )
        report.pages += 1
        if page is None:  # INT002012: nothing in the registry
            complete = True
            break
        async with ctx.sessionmaker() as session, session.begin():
            local = await _records_for_page(session, organisation_id, page.debts)
            reconcile_page(local, page.debts, report, seen)
            await import_gis_only(session, organisation_id, report.to_import, report)
            report.to_import.clear()
        await progress(report.exported)
        if page.is_last_page or not page.next_page_guid:
            complete = True
            break
        next_guid = page.next_page_guid
    if complete:
        # Placed before the export started and not exported: GIS has lost (or never kept) the record.
        async with ctx.sessionmaker() as session:
            stmt = select(CourtConfirmedDebt.id, CourtConfirmedDebt.gis_debt_guid).where(
                CourtConfirmedDebt.organisation_id == organisation_id,
                CourtConfirmedDebt.gis_debt_guid.is_not(None),
                or_(CourtConfirmedDebt.gis_status.is_(None), CourtConfirmedDebt.gis_status != "CANCELLED"),
                or_(CourtConfirmedDebt.gis_synced_at.is_(None), CourtConfirmedDebt.gis_synced_at < started),
            )
            for debt_id, guid in (await session.execute(stmt)).all():
                if guid not in seen:
                    report.add("missing_in_gis", str(debt_id))
    return report.as_dict() | {"complete": complete}


async def list_debts(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    account_id: uuid.UUID | None = None,
    limit: int = 100,
) -> Sequence[CourtConfirmedDebt]:
    """Return an organisation's court-confirmed debts, newest act first."""
    stmt = (
        select(CourtConfirmedDebt)
        .where(CourtConfirmedDebt.organisation_id == organisation_id)
        .order_by(CourtConfirmedDebt.act_date.desc(), CourtConfirmedDebt.id)
        .limit(limit)
    )
    if account_id is not None:
        stmt = stmt.where(CourtConfirmedDebt.account_id == account_id)
    return (await session.scalars(stmt)).all()
