"""Failure injection: the next matching requests get an error (or a 429) instead of their route."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from aiohttp import web

from tests.support.fakediscord.wire import ApiError, json_response

# The (code, message) Discord pairs with each status, for injected failures.
_DEFAULT_ERRORS = {400: (50035, "Invalid Form Body"), 401: (0, "401: Unauthorized"),
                   403: (50013, "Missing Permissions"), 404: (0, "404: Not Found"),
                   413: (40005, "Request entity too large"), 429: (0, "You are being rate limited."),
                   500: (0, "500: Internal Server Error")}


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    remaining: int
    code: int
    message: str


class Faults:
    """The failures still to inject, first registered first served."""

    def __init__(self) -> None:
        self._injections: list[_Injection] = []

    def fail_next(
        self, method: str, path_regex: str, status: int = 429, *, retry_after: float = 0.3,
        times: int = 1, code: int | None = None, message: str | None = None,
    ) -> None:
        """Fail the next ``times`` requests that match; see :meth:`FakeDiscord.fail_next`."""
        default_code, default_message = _DEFAULT_ERRORS.get(status, (0, str(status)))
        self._injections.append(_Injection(
            method.upper(), re.compile(path_regex), status, retry_after, times,
            default_code if code is None else code, message or default_message))

    def take(self, method: str, path: str) -> web.Response | None:
        """The injected answer for this request, if one matches (using it up), else None."""
        matching = (i for i in self._injections if i.method in (method, "*") and i.pattern.search(path))
        inj = next(matching, None)
        if inj is None:
            return None
        inj.remaining -= 1
        if inj.remaining <= 0:
            self._injections.remove(inj)
        if inj.status != 429:
            return ApiError(inj.status, inj.code, inj.message).response()
        headers = {"Via": "1.1 google", "Retry-After": str(math.ceil(inj.retry_after)),
                   "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user",
                   "X-RateLimit-Reset": f"{time.time() + inj.retry_after:.3f}",
                   "X-RateLimit-Reset-After": f"{inj.retry_after:.3f}", "X-RateLimit-Bucket": "fakebucket"}
        body = {"message": inj.message, "retry_after": inj.retry_after, "global": False}
        return json_response(body, status=429, headers=headers)
