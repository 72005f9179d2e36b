"""Seeded users from ``python -m seeding serve`` instead of a file: ``SeedsFeeder("http://host:8010/v1/dumps/x")``.

Workers on other machines need neither the dump nor the master's messages: each claim is one
``POST /v1/dumps/<scenario>/next?strategy=…`` (strategy ``lease``: ``POST …/leases?ttl=…``,
renewed by the feeder before it expires, returned or quarantined at ``/v1/leases/<id>``). Under
``unique`` and ``shuffle`` the service hands every user out once across every process, machine and
load tool asking, until ``POST /v1/dumps/<scenario>/reset``; users are not given back when a
virtual user stops. The token comes from ``token=`` or ``SEEDING.SERVICE_TOKEN``. The client is
``requests`` (Locust's own dependency, cooperative under gevent; httpx's sync client is not
importable once gevent has patched ``select``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .._exceptions import SeedingError, SeedsExhaustedError
from ..dumps._exhaustion import WhenEmpty
from ..dumps._result import SeedsResult, SeedUserResult
from ._preflight import capacity_problem, requirements_problem

__all__ = ["ServiceDump", "service_dump"]

_DUMP_PATH = re.compile(r"/v1/dumps/(?P<scenario>[A-Za-z0-9][A-Za-z0-9._-]*)/?")


def service_dump(dump: str | Path, *, token: str | None = None, timeout: float = 10.0) -> ServiceDump | None:
    """A ``ServiceDump`` when ``dump`` is a service URL, None when it is a path."""
    if not isinstance(dump, str) or not dump.startswith(("http://", "https://")):
        return None
    return ServiceDump(dump, token=token, timeout=timeout)


class ServiceDump:
    """One scenario's dump on a seeding service."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        match = _DUMP_PATH.fullmatch(parts.path)
        if not parts.hostname or match is None or parts.query:
            raise ValueError(f"{url!r}: a service dump is http://HOST:PORT/v1/dumps/<scenario>")
        self.url = url.rstrip("/")
        self.scenario = match["scenario"]
        token = token if token is not None else os.environ.get("SEEDING.SERVICE_TOKEN")
        self._http = requests.Session()
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout

    def next(self, strategy: str, profile: str | None = None, when_empty: str = "stop") -> tuple[int, SeedUserResult]:
        """The next user under ``strategy`` (of ``profile``); ``SeedsExhaustedError`` when the service has none left."""
        params = {"strategy": strategy} if profile is None else {"strategy": strategy, "profile": profile}
        if when_empty != "stop":
            params["when_empty"] = when_empty
        answer = self._request("POST", "/next", params=params)
        if answer.status_code == 409:
            raise SeedsExhaustedError(f"{self.url}: {_error(answer)}")
        data = answer.json()
        return data["index"], SeedUserResult.model_validate(data["user"])

    def lease(
        self, ttl: float, profile: str | None = None, when_empty: str = "stop"
    ) -> tuple[str, int, SeedUserResult]:
        """A user no one else holds, for ``ttl`` seconds (``POST …/leases``): its lease ID, index and user.

        ``when_empty`` ``wait:S`` waits up to S seconds on the service for one to come back;
        ``SeedsExhaustedError`` when none is free (409).
        """
        params: dict[str, str] = {"ttl": f"{ttl:g}"}
        if profile is not None:
            params["profile"] = profile
        if when_empty != "stop":
            params["when_empty"] = when_empty
        wait = float(when_empty.partition(":")[2] or 0)
        answer = self._request("POST", "/leases", params=params, timeout=self._timeout + wait)
        if answer.status_code == 409:
            raise SeedsExhaustedError(f"{self.url}: {_error(answer)}")
        data = answer.json()
        return data["lease"], data["index"], SeedUserResult.model_validate(data["user"])

    def renew(self, lease: str, ttl: float) -> bool:
        """Push the lease's expiry ``ttl`` seconds on; False when it had expired already (404)."""
        return self._lease_call("POST", lease, "/renew", params={"ttl": f"{ttl:g}"})

    def give_back(self, lease: str) -> bool:
        """Return the leased user (False: the lease had ended already)."""
        return self._lease_call("DELETE", lease, "")

    def quarantine(self, lease: str, reason: str) -> bool:
        """Take the leased user out of circulation until someone releases it on the service."""
        return self._lease_call("POST", lease, "/quarantine", json={"reason": reason})

    def _lease_call(
        self,
        method: str,
        lease: str,
        suffix: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> bool:
        root = self.url[: self.url.index("/v1/dumps/")]
        url = f"{root}/v1/leases/{lease}{suffix}"
        try:
            answer = self._http.request(method, url, params=params, json=json, timeout=self._timeout)
        except requests.RequestException as exc:
            raise SeedingError(f"{self.url}: the seeding service does not answer: {exc}") from None
        if answer.status_code == 404:
            return False
        if answer.status_code >= 400:
            raise SeedingError(
                f"{self.url}: {method} lease {lease[:6]}…{suffix}: {answer.status_code}: {_error(answer)}"
            )
        return True

    def pool(self) -> dict[str, Any]:
        """``GET …/pool``: free, leased, quarantined, the last minute's rates and ``empty_in_s``."""
        try:
            state = self._request("GET", "/pool").json()["pool"]
        except (ValueError, KeyError, TypeError):
            raise SeedingError(f"{self.url}/pool: not the answer of a seeding service") from None
        if not isinstance(state, dict):
            raise SeedingError(f"{self.url}/pool: not the answer of a seeding service")
        return state

    def problem(
        self,
        strategy: str,
        users: int,
        requires: Iterable[str],
        profile: str | None = None,
        when_empty: WhenEmpty | None = None,
    ) -> str | None:
        """Why this dump cannot serve ``users`` virtual users (one line), or None.

        With ``profile``, only the requirements are checked here; the service refuses a profile it
        has not and says when the profile's users run out.
        """
        try:
            dump = self._request("GET", "").json()["dump"]
            first = [self._request("GET", "/users/0").json()["user"]] if dump["users"] else []
        except SeedingError as exc:
            return str(exc)
        seeds = SeedsResult.model_validate({"users": first})
        left = dump["left"] if strategy in ("unique", "shuffle") else dump["users"]  # lease: the pool's users
        if profile is not None:
            return requirements_problem(self.url, seeds, requires)
        return requirements_problem(self.url, seeds, requires) or capacity_problem(
            self.url, strategy, seeds=left, users=users, when_empty=when_empty
        )

    def _request(self, method: str, suffix: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        try:
            answer = self._http.request(method, self.url + suffix, **kwargs)
        except requests.RequestException as exc:
            raise SeedingError(f"{self.url}: the seeding service does not answer: {exc}") from None
        if answer.status_code >= 400 and answer.status_code != 409:
            raise SeedingError(f"{self.url}: {answer.status_code}: {_error(answer)}")
        return answer


def _error(answer: requests.Response) -> str:
    try:
        return str(answer.json()["error"])
    except (ValueError, KeyError, TypeError):
        return " ".join(answer.text.split())[:200]
