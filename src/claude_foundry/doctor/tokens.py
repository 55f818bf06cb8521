"""What a Microsoft Entra token says about itself, read from its JWT payload unverified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

__all__ = ["FOUNDRY_AUDIENCES", "TokenFacts", "read_token_facts"]

FOUNDRY_AUDIENCES = ("https://ai.azure.com", "https://cognitiveservices.azure.com")


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What a token's payload says, read without verifying it. Holds no part of the token."""

    length: int
    is_jwt: bool
    audience: tuple[str, ...] = ()
    tenant: str | None = None
    expires_at: float | None = None
    not_before: float | None = None
    roles: tuple[str, ...] = ()
    object_id: str | None = None

    @property
    def audience_ok(self) -> bool:
        wanted = {a.lower() for a in FOUNDRY_AUDIENCES}
        return any(a.rstrip("/").lower() in wanted for a in self.audience)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expires_within(self, now: float, seconds: float) -> bool:
        return self.expires_at is not None and now + seconds >= self.expires_at

    def describe(self, now: float) -> str:
        parts = [f"audience {' '.join(self.audience) or '(none)'}"]
        if self.tenant:
            parts.append(f"tenant {self.tenant}")
        if self.expires_at is not None:
            when = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            left = self.expires_at - now
            relative = f"in {_duration(left)}" if left > 0 else f"{_duration(-left)} ago"
            verb = "expires" if left > 0 else "expired"
            parts.append(f"{verb} {when} ({relative})")
        if self.roles:
            parts.append(f"roles {list(self.roles)}")
        if self.object_id:
            parts.append(f"object id {self.object_id}")
        return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def read_token_facts(token: str) -> TokenFacts:
    """Claims that explain a refusal, from the unverified JWT payload."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return TokenFacts(length=len(token), is_jwt=False)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    roles = claims.get("roles")
    return TokenFacts(
        length=len(token),
        is_jwt=True,
        audience=tuple(str(a) for a in audiences),
        tenant=_str(claims.get("tid")),
        expires_at=_number(claims.get("exp")),
        not_before=_number(claims.get("nbf")),
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        object_id=_str(claims.get("oid")),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
