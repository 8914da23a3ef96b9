"""The HTTP client for one mirror's upstream index.

Every way an upstream can fail (connect error, timeout, 5xx, reset, truncated or unparsable
body) becomes ``UpstreamUnavailable`` here, after a bounded number of retries, so callers only
ever see typed results or that one exception. Credentials in the mirror URL are sent as Basic
auth and never appear in a returned value or an error message.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import platform
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
from packaging.utils import canonicalize_name

from pkgdepot import __version__
from pkgdepot.errors import UpstreamUnavailable
from pkgdepot.mirror.parse import PageParseError, UpstreamLink, parse_page
from pkgdepot.mirror.project_list import iter_project_names

PAGE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)
SERIAL_HEADER = "X-PyPI-Last-Serial"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """A freshly fetched project page."""

    url: str
    links: list[UpstreamLink]
    etag: str | None
    serial: int  # X-PyPI-Last-Serial, -1 when the upstream sent none


@dataclass(frozen=True, slots=True)
class NotModified:
    """The upstream answered 304 to our ``If-None-Match``: the stored copy is current."""

    etag: str | None
    serial: int


@dataclass(frozen=True, slots=True)
class UpstreamNotFound:
    """The upstream does not have this project or file (404 or 410)."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file that was streamed completely and matched what the page announced."""

    size: int
    sha256: str
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class ProjectList:
    """A project list being streamed; iterate ``names`` inside ``UpstreamClient.project_list``."""

    etag: str | None
    serial: int
    names: AsyncIterator[str]


class _Retryable(Exception):
    """One attempt failed in a way worth trying again."""


def parse_serial(value: str | None) -> int:
    """``X-PyPI-Last-Serial`` as an int; -1 if missing or not a number."""
    try:
        return int(value.strip()) if value is not None else -1
    except ValueError:
        return -1


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every upstream client of the process: loading the CA certificates
    takes a tenth of a second or more, which the first request to a mirror would wait for."""
    return httpx.create_ssl_context()


def _user_agent() -> str:
    return f"pkgdepot/{__version__} (python {platform.python_version()})"


class UpstreamClient:
    """Talks to one upstream simple index. Use as ``async with UpstreamClient(url) as c``."""

    def __init__(
        self,
        mirror_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        retry_backoff: float = 0.2,
        list_timeout: float = 30.0,
        max_page_bytes: int = 64 * 1024 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(mirror_url)
        self._auth = httpx.BasicAuth(url.username, url.password) if url.username else None
        self._password = url.password
        bare = url.copy_with(username=None, password=None)
        self.url = str(bare) if str(bare).endswith("/") else str(bare) + "/"
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.list_timeout = max(timeout, list_timeout)
        self.max_page_bytes = max_page_bytes
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            trust_env=True,  # HTTP_PROXY, HTTPS_PROXY, NO_PROXY
            verify=tls_context(),
            headers={"User-Agent": _user_agent()},
        )

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"UpstreamClient({self.url!r})"

    def project_url(self, project: str) -> str:
        return f"{self.url}{canonicalize_name(project)}/"

    async def fetch_project_page(
        self, project: str, etag: str | None = None, known_serial: int = -1
    ) -> ProjectPage | NotModified | UpstreamNotFound:
        """Fetch one project page, JSON preferred; with ``etag``, a 304 gives ``NotModified``.

        A serial below ``known_serial`` (the one stored with the cached page) is a fault: the
        upstream (or a cache in front of it) is serving an older state. A missing serial
        header (-1) tells nothing and is never taken for one going backwards.
        """
        url = self.project_url(project)
        headers = {"Accept": PAGE_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag

        async def attempt() -> ProjectPage | NotModified | UpstreamNotFound:
            async with asyncio.timeout(self.timeout):
                request = self._client.build_request("GET", url, headers=headers)
                response = await self._client.send(request, auth=self._auth, stream=True)
                try:
                    result = await self._page_result(response, url, project)
                finally:
                    await response.aclose()

            if not isinstance(result, UpstreamNotFound) and 0 <= result.serial < known_serial:
                raise _Retryable(f"serial {result.serial} is older than {known_serial}")
            return result

        return await self._with_retries(url, attempt)

    async def _page_result(
        self, response: httpx.Response, url: str, project: str
    ) -> ProjectPage | NotModified | UpstreamNotFound:
        serial = parse_serial(response.headers.get(SERIAL_HEADER))
        etag = response.headers.get("ETag")
        if response.status_code in (404, 410):
            return UpstreamNotFound()
        if response.status_code == 304:
            return NotModified(etag=etag, serial=serial)
        self._check_status(response, url)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_page_bytes:
                raise UpstreamUnavailable(f"upstream page {url} is larger than allowed")
        try:
            links = parse_page(
                bytes(body), response.headers.get("Content-Type", ""), str(response.url), project
            )
        except PageParseError as error:
            raise _Retryable(f"unparsable page: {error}") from None
        return ProjectPage(url=url, links=links, etag=etag, serial=serial)

    @asynccontextmanager
    async def project_list(
        self, etag: str | None = None
    ) -> AsyncIterator[ProjectList | NotModified]:
        """Stream the upstream's project list (``async with`` keeps the connection open).

        Connection-level failures before the body starts are retried; failures while the
        names stream raise ``UpstreamUnavailable`` from the ``names`` iterator.
        """
        headers = {"Accept": PAGE_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        url = self.url

        async def attempt() -> httpx.Response:
            request = self._client.build_request(
                "GET", url, headers=headers, timeout=httpx.Timeout(self.list_timeout)
            )
            async with asyncio.timeout(self.list_timeout):
                response = await self._client.send(request, auth=self._auth, stream=True)
            if response.status_code not in (200, 304):
                await response.aclose()
                self._check_status(response, url)
            return response

        response = await self._with_retries(url, attempt)
        try:
            serial = parse_serial(response.headers.get(SERIAL_HEADER))
            if response.status_code == 304:
                yield NotModified(etag=response.headers.get("ETag"), serial=serial)
                return
            names = self._stream_names(response, url)
            try:
                yield ProjectList(etag=response.headers.get("ETag"), serial=serial, names=names)
            finally:
                await names.aclose()
        finally:
            await response.aclose()

    async def _stream_names(self, response: httpx.Response, url: str) -> AsyncGenerator[str, None]:
        try:
            content_type = response.headers.get("Content-Type", "")
            async for name in iter_project_names(response.aiter_bytes(), content_type):
                yield name
        except PageParseError as error:
            raise UpstreamUnavailable(f"upstream {url}: unparsable project list: {error}") from None
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(self._describe(url, error)) from None

    async def download_file(
        self,
        url: str,
        write: Callable[[bytes], Awaitable[None]],
        *,
        sha256: str | None,
        size: int | None = None,
    ) -> Downloaded | UpstreamNotFound:
        """Stream ``url`` into ``write`` chunk by chunk, checking sha256 and size at the end.

        Only opening the connection is retried: once bytes went to ``write`` a failure is
        final. A mismatch raises ``UpstreamUnavailable`` after the last chunk; the caller must
        then throw away what it wrote. Basic auth is only sent to the mirror's own host.
        """
        auth = self._auth if httpx.URL(url).netloc == httpx.URL(self.url).netloc else None

        async def attempt() -> httpx.Response:
            async with asyncio.timeout(self.timeout):
                request = self._client.build_request("GET", url)
                response = await self._client.send(request, auth=auth, stream=True)
            if response.status_code not in (200, 404, 410):
                await response.aclose()
                self._check_status(response, url)
            return response

        response = await self._with_retries(url, attempt)
        try:
            if response.status_code != 200:
                return UpstreamNotFound()
            digest, received = hashlib.sha256(), 0
            try:
                async for chunk in response.aiter_bytes():
                    digest.update(chunk)
                    received += len(chunk)
                    await write(chunk)
            except httpx.HTTPError as error:
                raise UpstreamUnavailable(self._describe(url, error)) from None
        finally:
            await response.aclose()
        if size is not None and received != size:
            raise UpstreamUnavailable(f"{url}: got {received} bytes, the page announced {size}")
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise UpstreamUnavailable(f"{url}: sha256 {digest.hexdigest()} != announced {sha256}")
        return Downloaded(received, digest.hexdigest(), response.headers.get("Last-Modified"))

    def _check_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status != 200:
            raise UpstreamUnavailable(f"upstream {url} answered HTTP {status}")

    async def _with_retries(self, url: str, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``attempt`` up to ``1 + retries`` times; transient failures become one error."""
        last_problem = ""
        for number in range(self.retries + 1):
            if number:
                await asyncio.sleep(self.retry_backoff * 2 ** (number - 1))
            try:
                return await attempt()
            except _Retryable as problem:
                last_problem = str(problem)
            except TimeoutError:
                last_problem = f"no complete answer within {self.timeout:g} s"
            except httpx.HTTPError as error:
                last_problem = self._describe(None, error)
        raise UpstreamUnavailable(
            f"upstream {url} unavailable after {self.retries + 1} attempts: {last_problem}"
        )

    def _describe(self, url: str | None, error: httpx.HTTPError) -> str:
        detail = str(error) or type(error).__name__
        if self._password:
            detail = detail.replace(self._password, "***")
        text = f"{type(error).__name__}: {detail}"
        return f"upstream {url}: {text}" if url else text
