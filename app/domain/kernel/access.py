"""API keys and scopes: who may read, answer, send, work on court cases, administer, or see personal data."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.core import ApiKey, ApiKeyOrganisation, Organisation
from app.domain.kernel import errors as d

Scope = Literal["read", "answer", "send", "court", "admin", "pii"]
ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)
KEY_PREFIX = "gk_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a key with scopes, bound to organisations (or to all of them)."""

    key_id: uuid.UUID | None
    name: str
    scopes: frozenset[str]
    organisation_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    all_organisations: bool = False

    def has(self, scope: Scope) -> bool:
        """Whether the key holds the scope."""
        return scope in self.scopes

    @property
    def can_see_pii(self) -> bool:
        """Whether responses may show names, SNILS and documents."""
        return "pii" in self.scopes

    def require(self, *scopes: Scope) -> None:
        """Raise PermissionDenied unless every scope is held."""
        missing = [s for s in scopes if s not in self.scopes]
        if missing:
            raise d.PermissionDenied(f"This API key lacks the scope(s): {', '.join(missing)}.", rule="scope")

    def may_access(self, organisation_id: uuid.UUID) -> bool:
        """Whether the key is bound to the organisation."""
        return self.all_organisations or organisation_id in self.organisation_ids

    def require_org(self, organisation_id: uuid.UUID) -> None:
        """Raise NotFound for organisations the key is not bound to (their existence stays hidden)."""
        if not self.may_access(organisation_id):
            raise d.NotFoundError(f"Organisation {organisation_id} not found.", rule="organisation_access")

    def visible_orgs(self, requested: uuid.UUID | None = None) -> Sequence[uuid.UUID] | None:
        """Organisation filter for list queries: None means every organisation."""
        if requested is not None:
            self.require_org(requested)
            return [requested]
        return None if self.all_organisations else sorted(self.organisation_ids)

    @property
    def actor(self) -> str:
        """Label used in histories and the audit journal."""
        return f"key:{self.name}"


SYSTEM = Principal(key_id=None, name="system", scopes=frozenset(ALL_SCOPES), all_organisations=True)


async def require_organisation(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """Load an organisation the caller may act for (404 otherwise, also for unknown ones).

    The one organisation check of routers and domain alike; `Principal.may_access` answers the narrower
    question whether a loaded row of some organisation may be shown.
    """
    principal.require_org(organisation_id)
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise d.NotFoundError(
            f"Organisation {organisation_id} not found.",
            rule="organisation_exists",
            errors=[d.FieldProblem("organisation_id", "organisation_exists", "unknown organisation")],
        )
    return org


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `token` is shown once and never stored."""

    id: uuid.UUID
    token: str
    name: str
    scopes: list[str]


async def create_key(
    *,
    session: AsyncSession,
    name: str,
    scopes: Iterable[str],
    organisation_ids: Iterable[uuid.UUID] = (),
    all_organisations: bool = False,
    token: str | None = None,
) -> CreatedKey:
    """Create an API key bound to organisations and scopes; return the token once."""
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in ALL_SCOPES]
    if unknown:
        raise d.RuleViolation(
            f"Unknown scope(s): {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}.",
            errors=[d.FieldProblem("scopes", "enum", f"unknown scope {s}") for s in unknown],
        )
    org_ids = list(dict.fromkeys(organisation_ids))
    if org_ids:
        found = set(
            (await session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids)))).all()
        )
        missing = [o for o in org_ids if o not in found]
        if missing:
            raise d.NotFoundError(f"Organisation {missing[0]} not found.", rule="organisation_exists")
    if token is None:
        prefix = secrets.token_hex(6)
        token = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    else:
        prefix = _split(token)[0]
    key = ApiKey(
        prefix=prefix,
        secret_hash=_hash(token),
        name=name,
        scopes=scope_list,
        all_organisations=all_organisations,
        organisations=[ApiKeyOrganisation(organisation_id=o) for o in org_ids],
    )
    session.add(key)
    await session.flush()
    return CreatedKey(id=key.id, token=token, name=name, scopes=scope_list)


async def create_key_as(
    *,
    session: AsyncSession,
    principal: Principal,
    name: str,
    scopes: Iterable[str],
    organisation_ids: Sequence[uuid.UUID],
    all_organisations: bool,
) -> CreatedKey:
    """Create a key on an admin's behalf: never wider than the admin's own organisations."""
    if all_organisations and not principal.all_organisations:
        raise d.PermissionDenied(
            "Only a key bound to every organisation may create another such key.",
            errors=[d.FieldProblem("body.all_organisations", "admin_reach", "not allowed for this key")],
        )
    if not all_organisations and not organisation_ids:
        raise d.RuleViolation(
            "Name the organisations the key may act for (or all_organisations).",
            errors=[d.FieldProblem("body.organisation_ids", "missing", "at least one organisation")],
        )
    for org_id in organisation_ids:
        principal.require_org(org_id)
    return await create_key(
        session=session,
        name=name,
        scopes=scopes,
        organisation_ids=organisation_ids,
        all_organisations=all_organisations,
    )


async def get_key(*, session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """Load a key by id."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise d.NotFoundError(f"API key {key_id} not found.")
    return key


def _split(token: str) -> tuple[str, str]:
    if not token.startswith(KEY_PREFIX) or token.count("_") < 2:
        raise d.AuthenticationRequired("Malformed API key.")
    prefix, _, rest = token[len(KEY_PREFIX) :].partition("_")
    if not prefix or not rest:
        raise d.AuthenticationRequired("Malformed API key.")
    return prefix, rest


#: Seconds an authenticated key is remembered. Every request authenticates, and the key lookup (two queries)
#: was a large part of a small request's cost. Revocation clears this process's cache at once; other
#: processes (uvicorn workers) stop accepting a revoked key within this many seconds.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX = 10_000
_auth_cache: dict[tuple[int, str], tuple[float, Principal]] = {}


def _remembered(cache_key: tuple[int, str]) -> Principal | None:
    cached = _auth_cache.get(cache_key)
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def remembered_principal(bind: object, token: str) -> Principal | None:
    """The principal `authenticate` remembered for this token with a session on `bind` (None: not now)."""
    return _remembered((id(bind), _hash(token)))


async def authenticate(*, session: AsyncSession, token: str) -> Principal:
    """Return the principal of a valid, unrevoked key, or raise AuthenticationRequired."""
    prefix, _ = _split(token)
    digest = _hash(token)
    # Keyed by the engine too: tests (and tools) talk to several databases from one process.
    cache_key = (id(session.bind), digest)
    remembered = _remembered(cache_key)
    if remembered is not None:
        return remembered
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    # Constant-time comparison even though the prefix lookup already narrowed it: no timing oracle on hashes.
    if key is None or not hmac.compare_digest(key.secret_hash, digest) or key.revoked_at is not None:
        raise d.AuthenticationRequired("Unknown or revoked API key.")
    principal = Principal(
        key_id=key.id,
        name=key.name,
        scopes=frozenset(key.scopes),
        organisation_ids=frozenset(link.organisation_id for link in key.organisations),
        all_organisations=key.all_organisations,
    )
    if AUTH_CACHE_SECONDS > 0:
        if len(_auth_cache) >= _AUTH_CACHE_MAX:
            _auth_cache.clear()
        _auth_cache[cache_key] = (time.monotonic() + AUTH_CACHE_SECONDS, principal)
    return principal


def forget_authenticated_keys() -> None:
    """Drop every remembered authentication (after a revocation)."""
    _auth_cache.clear()


def manages(principal: Principal, key: ApiKey) -> bool:
    """Whether an admin may see and revoke a key: only keys confined to the admin's own organisations."""
    if principal.all_organisations:
        return True
    if key.all_organisations or not key.organisations:
        return False
    return all(link.organisation_id in principal.organisation_ids for link in key.organisations)


async def list_keys(*, session: AsyncSession, principal: Principal = SYSTEM) -> list[ApiKey]:
    """Return the keys the caller manages, newest first."""
    keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))).all()
    return [k for k in keys if manages(principal, k)]


async def revoke_key(*, session: AsyncSession, key_id: uuid.UUID, principal: Principal = SYSTEM) -> ApiKey:
    """Revoke a key; it stops working at once."""
    key = await session.get(ApiKey, key_id)
    if key is None or not manages(principal, key):
        raise d.NotFoundError(f"API key {key_id} not found.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    forget_authenticated_keys()
    return key
