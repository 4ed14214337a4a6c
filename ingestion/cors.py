"""CORS as the browser SDK needs it: ``fetch`` with ``mode: cors`` and ``credentials: include``.

Origins are configured as the console writes them (spec/ingestion.md §1.3): a comma list of origins such as
``https://shop.example``, wildcards such as ``*.example.com``, or ``*`` for any origin. With credentials the
browser refuses ``Access-Control-Allow-Origin: *``, so an allowed origin is always echoed. Unlike the
original's unanchored regex, each entry must match the whole origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALLOW_METHODS = b"GET, POST, OPTIONS"
DEFAULT_ALLOW_HEADERS = (
    b"DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type"
)
MAX_ORIGIN = 512


def entry_pattern(entry: str) -> str:
    """One console entry → an anchored regex; an entry without a scheme matches any scheme and port."""
    body = re.escape(entry).replace(r"\*", r"[A-Za-z0-9.\-]*")
    if "://" in entry:
        return body
    return rf"[a-z][a-z0-9+.\-]*://{body}(?::\d+)?"


class CorsPolicy:
    """Decides whether an ``Origin`` may read our answers, and writes the headers that say so."""

    def __init__(self, origins: Iterable[str]) -> None:
        entries = [entry.strip() for entry in origins if entry.strip()]
        self.allow_any = "*" in entries
        patterns = [entry_pattern(entry) for entry in entries if entry != "*"]
        self._regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.I) if patterns else None
        self._cache: dict[bytes, bool] = {}

    def allows(self, origin: bytes) -> bool:
        """Whether this origin is allowed (the answers are cached: a site sends the same origin often)."""
        known = self._cache.get(origin)
        if known is not None:
            return known
        allowed = self._decide(origin)
        if len(self._cache) < 10_000:
            self._cache[origin] = allowed
        return allowed

    def _decide(self, origin: bytes) -> bool:
        if len(origin) > MAX_ORIGIN or not origin.isascii():
            return False
        if self.allow_any:
            return True
        return bool(self._regex and self._regex.fullmatch(origin.decode("ascii")))

    @staticmethod
    def response_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", b"X-Request-ID"),
            (b"vary", b"Origin"),
        ]

    @staticmethod
    def preflight_headers(origin: bytes, requested: bytes | None) -> list[tuple[bytes, bytes]]:
        """Headers of a preflight answer; the requested headers are echoed so custom SDK headers pass."""
        allow_headers = requested if requested and len(requested) <= 1024 else DEFAULT_ALLOW_HEADERS
        return [
            *CorsPolicy.response_headers(origin),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", allow_headers),
            (b"access-control-max-age", b"86400"),
        ]
