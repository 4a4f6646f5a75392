"""The dashboard's pages: server-rendered HTML (Jinja2, escaped), a little vanilla JavaScript for
the live parts (the queue polls /api/jobs and the cost panel /api/cost, a job's page follows its
server-sent events)."""

from __future__ import annotations

import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...state.runs import format_usd
from .api import files_of, job_id_of, job_spec
from .cluster import Cluster

_ENV = Environment(loader=PackageLoader(__package__, "templates"), autoescape=select_autoescape())
_ENV.filters["when"] = lambda at: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else ""
_ENV.filters["usd"] = format_usd
_ENV.filters["size"] = lambda n: f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


class Refused(Exception):
    """A form posted without its session's CSRF token."""


def render(request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
    caller = getattr(request.state, "caller", None)  # the login page has none
    values = {"csrf": caller.csrf if caller else "", "caller": caller, "path": request.url.path,
              **values}
    return HTMLResponse(_ENV.get_template(template).render(values), status_code=status)


async def form_of(request: Request) -> FormData:
    """The posted form, once its CSRF field matches the session's (Starlette closes it with
    the request)."""
    form = await request.form(max_files=64, max_fields=64)
    given = form.get("csrf")
    if not isinstance(given, str) or not request.state.gate.csrf_ok(request, given):
        raise Refused("missing or wrong CSRF token")
    return form


def routes(cluster: Cluster) -> list[Route]:
    call = run_in_threadpool

    async def home(request: Request) -> Response:
        return RedirectResponse("/jobs", status_code=303)

    async def queue(request: Request) -> Response:
        return render(request, "jobs.html", {"cluster": cluster.name})

    async def job(request: Request) -> Response:
        job_id = job_id_of(request)
        return render(request, "job.html", {"cluster": cluster.name, "job_id": job_id,
                                            "tasks": await call(cluster.job, job_id)})

    async def cancel(request: Request) -> Response:
        job_id = job_id_of(request)
        await form_of(request)
        await call(cluster.cancel, job_id)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    async def submit(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "submit.html", {"cluster": cluster.name})
        form = await form_of(request)
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        if fields.pop("kind", "command") == "script":
            fields.pop("command", None)
        else:
            fields.pop("script", None)
        spec = job_spec(fields)
        files = await files_of(form)
        job_id = await call(cluster.submit, spec, files)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    async def nodes(request: Request) -> Response:
        return render(request, "nodes.html", {"cluster": cluster.name, "nodes": await call(cluster.nodes)})

    async def drain(request: Request) -> Response:
        await form_of(request)
        await call(cluster.drain, request.path_params["node"], request.url.path.endswith("/resume"))
        return RedirectResponse("/nodes", status_code=303)

    async def storage(request: Request) -> Response:
        return render(request, "storage.html", {"cluster": cluster.name, **await call(cluster.storage)})

    async def events(request: Request) -> Response:
        found = await call(cluster.events)
        return render(request, "events.html", {"cluster": cluster.name, "events": found[::-1]})

    return [
        Route("/", home), Route("/sge", home),  # the guide's MAIN_NODE:8080/sge
        Route("/jobs", queue),
        Route("/jobs/{job_id}", job),
        Route("/jobs/{job_id}/cancel", cancel, methods=["POST"]),
        Route("/submit", submit, methods=["GET", "POST"]),
        Route("/nodes", nodes),
        Route("/nodes/{node}/drain", drain, methods=["POST"]),
        Route("/nodes/{node}/resume", drain, methods=["POST"]),
        Route("/storage", storage),
        Route("/events", events),
    ]
