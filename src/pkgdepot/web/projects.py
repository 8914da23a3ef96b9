"""Project and version JSON (``projectconfig``, ``versiondata``), their deletes, and yanking."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot.domain import bodies
from pkgdepot.domain.models import Index
from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import InvalidInput
from pkgdepot.service.projects import Href
from pkgdepot.web.context import base_url, flag, identity, json_body, services
from pkgdepot.web.mirroring import bring_up_to_date, marked
from pkgdepot.web.negotiate import SIMPLE_HTML, SIMPLE_JSON, choose
from pkgdepot.web.responses import envelope, message


def _index(request: Request) -> Index:
    return services(request).catalog.get(request.path_params["user"], request.path_params["index"])


def _href(request: Request) -> Href:
    root = base_url(request)
    return lambda relpath: f"{root}/{relpath}"


def redirect_if_not_normal(request: Request) -> RedirectResponse | None:
    given = request.path_params["project"]
    project = normalize_project(given)
    if project == given:
        return None
    p = request.path_params
    stage = f"/{p['user']}/{p['index']}/"
    head, _, tail = request.url.path.partition(stage + given)
    path = f"{head}{stage}{project}{tail}"
    return RedirectResponse(str(request.url.replace(path=path)), status_code=302)


def installer_redirect(request: Request, project: str | None) -> RedirectResponse | None:
    """pip or uv pointed at an index URL without ``+simple``: send them to the simple page."""
    wanted = choose(request.headers.get("accept"), ("application/json", SIMPLE_JSON, SIMPLE_HTML))
    if wanted not in (SIMPLE_JSON, SIMPLE_HTML):
        return None
    p = request.path_params
    stage = f"/{p['user']}/{p['index']}"
    head = request.url.path.partition(stage)[0]
    path = f"{head}{stage}/+simple/" + (f"{project}/" if project else "")
    return RedirectResponse(str(request.url.replace(path=path, query="")), 302)


async def project_get(request: Request) -> Response:
    redirect = redirect_if_not_normal(request)
    if redirect is not None:
        return redirect
    project = request.path_params["project"]
    redirect = installer_redirect(request, project)
    if redirect is not None:
        return redirect
    s = services(request)
    index = _index(request)
    ignore_bases = flag(request, "ignore_bases")
    stale = await bring_up_to_date(request, index, project, ignore_bases=ignore_bases)
    result = await run_in_threadpool(
        s.projects.versions, index, project, _href(request), ignore_bases=ignore_bases
    )
    return marked(envelope("projectconfig", result), stale)


async def project_delete(request: Request) -> Response:
    project = normalize_project(request.path_params["project"])
    who = await identity(request, write=True)
    index = _index(request)
    s = services(request)
    await run_in_threadpool(s.projects.delete_project, who, index, project, flag(request, "force"))
    return message(f"project {project} deleted from stage {index.path}")


async def version_get(request: Request) -> Response:
    redirect = redirect_if_not_normal(request)
    if redirect is not None:
        return redirect
    p = request.path_params
    s = services(request)
    index = _index(request)
    ignore_bases = flag(request, "ignore_bases")
    stale = await bring_up_to_date(request, index, p["project"], ignore_bases=ignore_bases)
    result = await run_in_threadpool(
        s.projects.version,
        index,
        p["project"],
        p["version"],
        _href(request),
        ignore_bases=ignore_bases,
    )
    return marked(envelope("versiondata", result), stale)


async def version_delete(request: Request) -> Response:
    project = normalize_project(request.path_params["project"])
    version = request.path_params["version"]
    who = await identity(request, write=True)
    s = services(request)
    await run_in_threadpool(
        s.projects.delete_version, who, _index(request), project, version, flag(request, "force")
    )
    return message(f"project {project!r} version {version!r} deleted")


async def version_patch(request: Request) -> Response:
    """``{"yanked": true | "reason" | false}`` yanks or un-yanks every file of the release."""
    project = normalize_project(request.path_params["project"])
    version = request.path_params["version"]
    who = await identity(request, write=True)
    index = _index(request)
    s = services(request)
    s.projects.authorize(who, index, "yank releases")
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"yanked"}:
        raise InvalidInput('expected a JSON object {"yanked": true, false or a reason}')
    yanked = bodies.validate(bodies.Yank, body, "unexpected keys").yanked
    await run_in_threadpool(s.projects.yank, who, index, project, version, yanked)
    state = "un-yanked" if yanked is False else "yanked"
    return message(f"{project} {version} {state}")
