"""Small helpers of the request path: refusals, query parsing, the client's address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import unquote_plus

from ingestion.config import IPNetwork


class BadRequest(ValueError):
    """A request the collector refuses: ``status`` and a reason for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def parse_query(raw: bytes) -> dict[str, str]:
    """A query string → its first value per name; percent-decoding only where there is any."""
    query: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key, value = unquote_plus(key, errors="replace"), unquote_plus(value, errors="replace")
        query.setdefault(key, value)
    return query


class ClientAddress:
    """The client's address: the peer's, or — when the peer is a trusted proxy — the right-most address in
    ``X-Forwarded-For`` that is not itself a trusted proxy (the left part of that header is client-written)."""

    def __init__(self, trusted: tuple[IPNetwork, ...]) -> None:
        self.trusted = trusted
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def resolve(self, peer: str, forwarded_for: bytes | None) -> str:
        if not self.trusted or forwarded_for is None or not self.is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.decode("latin-1").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop[:64]
        return hops[0][:64] if hops else peer
