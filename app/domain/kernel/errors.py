"""Domain exceptions: each says, in words a billing user understands, which rule was broken."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One offending field: its path (e.g. `body.answers.3.defendants.0.snils`), the rule and a message."""

    path: str
    rule: str
    message: str


@dataclass
class DomainError(Exception):
    """Base of all business-rule errors."""

    detail: str
    errors: list[FieldProblem] = field(default_factory=list)
    rule: str = "domain"

    def __str__(self) -> str:
        return self.detail


class NotFoundError(DomainError):
    """The resource does not exist, or the caller may not see it."""


class ConflictError(DomainError):
    """The resource is in a state that does not allow the action."""


class RuleViolation(DomainError):
    """The input breaks a business rule (SNILS checksum, hasDebt without defendants, limits)."""


class PermissionDenied(DomainError):
    """The caller's key lacks the scope or organisation the action needs."""


class AuthenticationRequired(DomainError):
    """No valid API key was presented."""


class UpstreamUnavailable(DomainError):
    """A dependency (GIS, the signer) could not be reached."""


@dataclass
class TooManyRequests(DomainError):
    """The caller has too much work queued, or changes too fast; retry after `retry_after` seconds."""

    retry_after: int = 60
