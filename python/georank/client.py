"""A client for ``georank serve`` (docs/serve.md), on the standard library only (urllib)."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Union

from .errors import ServeError

__all__ = ["Client", "Localization"]

ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


class Localization(dict):
    """The answer of ``POST /v1/localize``: the JSON object, with DataFrame views.

    Keys (docs/serve.md): ``candidates`` (``rank``, ``tile``, ``score``, ``center``,
    ``bounds``, ``image_url``, ``city``), ``reranked`` (``None``, or the judged order with
    ``baseline_rank`` and ``evidence``), ``estimate`` (``lat``, ``lon``, ``tile``,
    ``source``: ``retrieval`` or ``rerank``), ``orientation``, ``judge`` (``identity``,
    judgments ``asked``, ``computed``, ``cached``, ``unparsed``), ``timings_ms``,
    ``caveats``, ``k``, ``strategy``.
    """

    @staticmethod
    def _frame(items: Optional[Sequence[Dict[str, Any]]]):
        import pandas as pd

        rows = []
        for c in items or []:
            row = {k: v for k, v in c.items() if k not in ("center", "evidence")}
            center = c.get("center") or {}
            row["lat"], row["lon"] = center.get("lat"), center.get("lon")
            if "evidence" in c:
                row["evidence"] = c["evidence"]
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def candidates_frame(self):
        """The retrieval candidates as a DataFrame (``center`` split into ``lat``/``lon``)."""
        return self._frame(self.get("candidates"))

    @property
    def reranked_frame(self):
        """The judge's order as a DataFrame, or ``None`` when no strategy judged."""
        r = self.get("reranked")
        return None if r is None else self._frame(r)

    @property
    def estimate(self) -> Dict[str, Any]:
        """The best estimate: ``lat``, ``lon``, ``tile`` and its ``source``."""
        return dict(self["estimate"])


def _image_bytes(image: ImageInput) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    else:
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such image file")
        with open(path, "rb") as f:
            data = f.read()
    if not data:
        raise ValueError("the image is empty")
    return data


class Client:
    """A ``georank serve`` service at ``url`` (``http://127.0.0.1:8080``).

    Args:
        url: the service's base URL.
        api_key: the service's API key, sent as ``Authorization: Bearer <key>``; by default
            ``$GEORANK_API_KEY`` when set.
        timeout: seconds to wait for each answer (the service has its own deadline,
            ``request_timeout_s``, answered with 504).

    Every method raises :class:`georank.ServeError` on an error answer (its ``status``,
    ``kind`` and ``message``) or when the service cannot be reached (``status`` 0).
    """

    def __init__(self, url: str, *, api_key: Optional[str] = None, timeout: float = 120.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r}: expected an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("GEORANK_API_KEY") or None
        self.timeout = timeout
        host = urllib.parse.urlsplit(self.url).hostname or ""
        # A proxy from the environment never sees loopback requests.
        loopback = host in ("localhost", "::1") or host.startswith("127.")
        self._opener = (urllib.request.build_opener(urllib.request.ProxyHandler({})) if loopback
                        else urllib.request.build_opener())

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # ---- transport ----

    def _request(self, method: str, path: str, *, body: Optional[bytes] = None,
                 content_type: Optional[str] = None, query: Optional[Dict[str, Any]] = None) -> tuple:
        url = self.url + path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            kind, message = "http_error", raw.decode("utf-8", "replace").strip() or e.reason
            try:
                err = json.loads(raw)["error"]
                kind, message = err.get("kind", kind), err.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass
            retry = e.headers.get("Retry-After") if e.headers else None
            try:
                retry_after = float(retry) if retry is not None else None
            except ValueError:
                retry_after = None
            raise ServeError(e.code, kind, str(message), url, retry_after) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ServeError(0, "unreachable", str(reason), url) from None

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        status, ctype, raw = self._request(method, path, **kw)
        try:
            return json.loads(raw)
        except ValueError:
            raise ServeError(status, "malformed_answer", f"expected JSON, got {ctype or 'no content type'}",
                             self.url + path) from None

    # ---- the API ----

    def localize(
        self,
        image: Optional[ImageInput] = None,
        *,
        k: Optional[int] = None,
        strategy: Optional[str] = None,
        heading_deg: Optional[float] = None,
        embedding: Optional[Sequence[float]] = None,
    ) -> Localization:
        """``POST /v1/localize``: the top-k tiles of an image, the judge's order and the estimate.

        Args:
            image: a file path, or the image's bytes (JPEG or PNG).
            k: how many tiles (at most the service's ``max_k``).
            strategy: a strategy of the service's config, or ``"none"`` for retrieval only
                (default: the service's ``[serve] strategy``).
            heading_deg: the compass heading of the panorama's centre column, when known.
            embedding: a query embedding instead of an image.
        """
        if (image is None) == (embedding is None):
            raise ValueError("give an image or an embedding (one of them)")
        body: Dict[str, Any] = {}
        if image is not None:
            body["image"] = base64.b64encode(_image_bytes(image)).decode("ascii")
        if embedding is not None:
            body["embedding"] = [float(x) for x in embedding]
        if k is not None:
            body["k"] = int(k)
        if strategy is not None:
            body["strategy"] = strategy
        if heading_deg is not None:
            body["heading_deg"] = float(heading_deg)
        answer = self._json("POST", "/v1/localize", body=json.dumps(body).encode("utf-8"),
                            content_type="application/json")
        return Localization(answer)

    def info(self) -> Dict[str, Any]:
        """``GET /v1/info``: gallery size, index, k, strategies, judges, caveats."""
        return self._json("GET", "/v1/info")

    def health(self) -> Dict[str, Any]:
        """``GET /health``."""
        return self._json("GET", "/health")

    def ready(self) -> bool:
        """``GET /ready``: whether the models are loaded and requests are taken."""
        try:
            return bool(self._json("GET", "/ready").get("ready"))
        except ServeError as e:
            if e.status in (0, 503):
                return False
            raise

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Wait until :meth:`ready`; :class:`TimeoutError` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url}: not ready after {timeout} s")
            time.sleep(interval)

    def tile_meta(self, tile_id: str) -> Dict[str, Any]:
        """``GET /v1/tiles/{id}/meta``: a tile's centre, footprint, resolution and city."""
        return self._json("GET", "/v1/tiles/" + urllib.parse.quote(tile_id, safe="") + "/meta")

    def tile(self, tile_id: str) -> bytes:
        """``GET /v1/tiles/{id}``: a tile's image bytes."""
        return self._request("GET", "/v1/tiles/" + urllib.parse.quote(tile_id, safe=""))[2]

    def runs(self) -> Any:
        """``GET /v1/runs``: the finished runs the service browses."""
        return self._json("GET", "/v1/runs")

    def run(self, name: str) -> Dict[str, Any]:
        """``GET /v1/runs/{run}``: a run's numbers and figures."""
        return self._json("GET", "/v1/runs/" + urllib.parse.quote(name, safe=""))

    def queries(self, run: str, *, offset: int = 0, limit: int = 50, strategy: Optional[str] = None,
                filter: str = "all") -> Dict[str, Any]:
        """``GET /v1/runs/{run}/queries``: a page of a run's queries (``filter``: all, fixed, broken, kept, missed, unparsed)."""
        return self._json("GET", "/v1/runs/" + urllib.parse.quote(run, safe="") + "/queries",
                          query={"offset": offset, "limit": limit, "strategy": strategy, "filter": filter})

    def query(self, run: str, query_id: str) -> Dict[str, Any]:
        """``GET /v1/runs/{run}/queries/{id}``: one query with every strategy's order and judgments."""
        return self._json("GET", "/v1/runs/" + urllib.parse.quote(run, safe="") + "/queries/"
                          + urllib.parse.quote(query_id, safe=""))

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text."""
        return self._request("GET", "/metrics")[2].decode("utf-8", "replace")
