"""The REST API under /api/ and its OpenAPI document (the contract the tests check every
response against)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ...errors import ConfigError, EhpcError
from ...orchestration.jobs import JOB_ID_RE
from ...schedulers import JobSpec
from .cluster import Cluster, since_hours

MAX_UPLOAD = 64 * 1024 * 1024  # all input files of one submission together
STATES = ("pending", "running", "completed", "failed", "cancelled", "unknown")


def _int(fields: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = fields.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{key} must be a whole number")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {number}")
    return number


def _text(fields: dict[str, Any], key: str, limit: int = 256) -> str | None:
    value = fields.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > limit or "\0" in value:
        raise ConfigError(f"{key} must be text of at most {limit} characters")
    return value


def job_spec(fields: dict[str, Any]) -> JobSpec:
    """A JobSpec from a JSON body or a form: `command` (a shell line, or a list: an exact argv)
    or `script` (a bash script), and the CLI's resource options. Checked before anything runs."""
    command = fields.get("command")
    script = _text(fields, "script", 256 * 1024)
    if isinstance(command, list):
        if not command or not all(isinstance(w, str) and w and "\0" not in w for w in command):
            raise ConfigError("command must be a non-empty list of words")
        argv = command
    else:
        line = _text(fields, "command", 64 * 1024)
        if bool(line) == bool(script):
            raise ConfigError("give either a command or a script")
        argv = [(line or script or "").replace("\r\n", "\n")]
    env = fields.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError("env must map names to text values")
    spec = JobSpec(
        command=argv, name=_text(fields, "name", 64) or "job", cpus=_int(fields, "cpus", 1, 4096) or 1,
        memory_mb=_int(fields, "memory_mb", 1, 1 << 24), walltime_min=_int(fields, "walltime_min", 1, 525600),
        array=_text(fields, "array", 128), workdir=_text(fields, "workdir", 1024), env=env,
    )
    spec.validate()
    return spec


async def files_of(form: FormData) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and item.filename:
            data = await item.read()
            total += len(data)
            if total > MAX_UPLOAD:
                raise ConfigError(f"input files larger than {MAX_UPLOAD >> 20} MiB in all")
            if item.filename in files:
                raise ConfigError(f"two input files are named {item.filename}")
            files[item.filename] = data
    return files


def job_id_of(request: Request) -> str:
    job_id = request.path_params["job_id"]
    if not JOB_ID_RE.match(job_id):
        raise ConfigError(f"{job_id!r} is not a job id")
    return str(job_id)


def query_float(request: Request, key: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(key)
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        raise ConfigError(f"{key} must be a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}")
    return value


def routes(cluster: Cluster) -> list[Route]:
    call = run_in_threadpool

    async def cluster_info(request: Request) -> Response:
        return JSONResponse(await call(cluster.summary))

    async def list_jobs(request: Request) -> Response:
        hours = query_float(request, "hours", 24, 0, 24 * 365)
        state = request.query_params.get("state")
        if state is not None and state not in STATES:
            raise ConfigError(f"state must be one of {', '.join(STATES)}")
        name = request.query_params.get("name")
        return JSONResponse(await call(cluster.jobs, since_hours(hours), state, name))

    async def submit(request: Request) -> Response:
        kind = request.headers.get("content-type", "")
        files: dict[str, bytes] = {}
        if kind.startswith("multipart/form-data"):
            async with request.form(max_files=64, max_fields=64) as form:
                spec = job_spec({k: v for k, v in form.items() if isinstance(v, str)})
                files = await files_of(form)
        else:
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise ConfigError("the body must be JSON or a multipart form") from None
            if not isinstance(body, dict):
                raise ConfigError("the body must be a JSON object")
            spec = job_spec(body)
        job_id = await call(cluster.submit, spec, files)
        return JSONResponse({"job_id": job_id}, status_code=201)

    async def job(request: Request) -> Response:
        return JSONResponse(await call(cluster.job, job_id_of(request)))

    async def cancel(request: Request) -> Response:
        job_id = job_id_of(request)
        await call(cluster.cancel, job_id)
        return JSONResponse({"job_id": job_id, "cancelled": True})

    async def logs(request: Request) -> Response:
        found = await call(cluster.logs, job_id_of(request))
        return JSONResponse([{"path": path, "text": text} for path, text in found])

    async def follow(request: Request) -> Response:
        return StreamingResponse(follow_logs(cluster, job_id_of(request)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    async def nodes(request: Request) -> Response:
        return JSONResponse(await call(cluster.nodes))

    async def drain(request: Request) -> Response:
        node = request.path_params["node"]
        await call(cluster.drain, node, request.url.path.endswith("/resume"))
        return JSONResponse({"node": node, "ok": True})

    async def events(request: Request) -> Response:
        return JSONResponse(await call(cluster.events, query_float(request, "since", 0, 0, 1e11)))

    async def storage(request: Request) -> Response:
        return JSONResponse(await call(cluster.storage))

    async def cost(request: Request) -> Response:
        dearest = _int(dict(request.query_params), "jobs", 0, 100)
        return JSONResponse(await call(cluster.cost, 10 if dearest is None else dearest))

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [
        Route("/api/openapi.json", openapi),
        Route("/api/cluster", cluster_info),
        Route("/api/jobs", list_jobs),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs/{job_id}", job),
        Route("/api/jobs/{job_id}/cancel", cancel, methods=["POST"]),
        Route("/api/jobs/{job_id}/logs", logs),
        Route("/api/jobs/{job_id}/logs/stream", follow),
        Route("/api/nodes", nodes),
        Route("/api/nodes/{node}/drain", drain, methods=["POST"]),
        Route("/api/nodes/{node}/resume", drain, methods=["POST"]),
        Route("/api/events", events),
        Route("/api/storage", storage),
        Route("/api/cost", cost),
    ]


async def follow_logs(cluster: Cluster, job_id: str, interval: float = 1.0) -> AsyncIterator[str]:
    """Server-sent events: each output file's new text as it grows (`log`), the job's tasks when
    they change (`status`), and `end` once every task has finished and the last text is sent."""
    sent: dict[str, int] = {}
    last: Any = None
    while True:
        report = await run_in_threadpool(cluster.job, job_id)
        done = all(task["finished"] for task in report)
        try:
            found = await run_in_threadpool(cluster.logs, job_id)
        except EhpcError as err:  # e.g. a job not submitted through ehpc: no known log paths
            found = []
            if not sent:
                yield _event("note", {"text": str(err)})
                sent[""] = 0
        for path, text in found:
            if len(text) > sent.get(path, 0):
                yield _event("log", {"path": path, "text": text[sent.get(path, 0):]})
                sent[path] = len(text)
        if report != last:
            last = report
            yield _event("status", report)
        if done:
            yield _event("end", {})
            return
        await asyncio.sleep(interval)


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _object(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


_STR, _NUM, _BOOL = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_NUM_OR_NULL = {"type": ["number", "null"]}
_USD = {"type": "number", "minimum": 0, "description": "US dollars"}
_JOB_COST = {"type": ["number", "null"], "minimum": 0,
             "description": "a finished job's estimated cost in US dollars: its run time x the "
             "hourly price of its nodes (null: running, or a price or its time not known)"}
_JOB = _object({
    "job_id": _STR, "task": _STR, "name": _STR, "state": {"enum": list(STATES)}, "raw_state": _STR,
    "exit_code": _INT_OR_NULL, "nodes": _STR, "user": _STR, "elapsed": _STR, "finished": _BOOL,
    "submitted_at": _NUM_OR_NULL, "cost": _JOB_COST,
})
_JOB_REPORT = _object({**_JOB["properties"], "cluster": _STR, "scheduler": _STR,
                       "owner": {"type": ["string", "null"]}})
_NODE = _object({**{k: _STR for k in ("name", "role", "status", "provider", "pool", "region",
                                      "market", "address", "scheduler_state")},
                 "load": {"type": ["number", "null"],
                          "description": "load average as the scheduler last heard it"}})
_MOUNT = _object({"target": _STR, "source": _STR, "fstype": _STR, "size": {"type": "integer"},
                  "used": {"type": "integer"}, "avail": {"type": "integer"}})
_COST_LINE = _object({
    "pool": {"type": "string", "description": "`head`, or the pool's place"}, "provider": _STR,
    "market": _STR, "instance_type": _STR,
    "running": {"type": "integer", "minimum": 0, "description": "machines billed now"},
    "so_far": _USD,
    "hourly": {"type": ["number", "null"], "minimum": 0,
               "description": "USD per hour now (null: a running machine's price is not known)"},
    "unknown_hours": {"type": "number", "minimum": 0,
                      "description": "machine-hours without a known price"},
    "source": {"type": "string", "description": "where the price came from, or why there is none"},
})
_COST = _object({
    "cluster": _STR, "so_far": _USD,
    "hourly": {"type": ["number", "null"], "minimum": 0,
               "description": "USD per hour now (null: a running machine's price is not known)"},
    "unknown_hours": {"type": "number", "minimum": 0}, "since": _NUM_OR_NULL,
    "lines": _array(_COST_LINE),
    "budget": {"type": ["number", "null"], "exclusiveMinimum": 0,
               "description": "US dollars the cluster may cost (null: no budget)"},
    "budget_action": {"type": "string",
                      "description": "what the head agent does when the budget is spent"},
    "used": {"type": ["number", "null"], "minimum": 0,
             "description": "the share of the budget spent (0.8 = 80%; null: no budget)"},
    "events": {**_array(_STR), "description": "the budget's events, oldest first"},
    "jobs": {**_array(_object({"job_id": _STR, "task": _STR, "name": _STR, "nodes": _STR,
                               "elapsed": _STR, "cost": _JOB_COST})),
             "description": "the dearest finished jobs submitted through ehpc, dearest first"},
})
_SUBMIT = _object({
    "command": {"oneOf": [_STR, _array(_STR)], "description": "a shell line, or an exact argv"},
    "script": {"type": "string", "description": "a bash script (instead of command)"},
    "name": _STR, "cpus": {"type": "integer", "minimum": 1}, "memory_mb": {"type": "integer"},
    "walltime_min": {"type": "integer"}, "array": {"type": "string", "example": "1-10%2"},
    "workdir": _STR, "env": {"type": "object", "additionalProperties": _STR},
}, required=[])
_MULTIPART = {**_SUBMIT, "properties": {**_SUBMIT["properties"],
                                        "files": _array({"type": "string", "format": "binary"})}}


def _ok(schema: dict[str, Any], kind: str = "application/json") -> dict[str, Any]:
    return {"description": "OK", "content": {kind: {"schema": schema}}}


def _op(summary: str, response: dict[str, Any], code: str = "200", **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {code: response, **_ERRORS}, **extra}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


_ERROR = _object({"error": _STR})
_ERRORS = {"400": _ok(_ERROR) | {"description": "bad input"},
           "401": _ok(_ERROR) | {"description": "no, wrong, expired or revoked token"},
           "403": _ok(_ERROR) | {"description": "a viewer's change, or a session call without "
                                 "its CSRF token"}}
_JOB_ID = _param("job_id", "path", {"type": "string", "pattern": JOB_ID_RE.pattern})
_NODE_NAME = _param("node", "path", _STR)

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "ElasticHPC head agent", "version": "1"},
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "security": [{"token": []}],
    "paths": {
        "/api/openapi.json": {"get": _op("this document", _ok({"type": "object"}))},
        "/api/cluster": {"get": _op("the cluster", _ok(_object(
            {"name": _STR, "scheduler": _STR, "provider": _STR})))},
        "/api/jobs": {
            "get": _op("the queue and the jobs submitted through ehpc in the last `hours`",
                       _ok(_array(_JOB)), parameters=[
                           _param("hours", "query", {"type": "number", "minimum": 0}),
                           _param("state", "query", {"enum": list(STATES)}),
                           _param("name", "query", _STR)]),
            "post": _op("submit a job (JSON, or a multipart form with input files)",
                        _ok(_object({"job_id": _STR})) | {"description": "submitted"}, "201",
                        requestBody={"required": True, "content": {
                            "application/json": {"schema": _SUBMIT},
                            "multipart/form-data": {"schema": _MULTIPART}}}),
        },
        "/api/jobs/{job_id}": {"get": _op("a job's tasks", _ok(_array(_JOB_REPORT)),
                                          parameters=[_JOB_ID])},
        "/api/jobs/{job_id}/cancel": {"post": _op("cancel a job", _ok(_object(
            {"job_id": _STR, "cancelled": _BOOL})), parameters=[_JOB_ID])},
        "/api/jobs/{job_id}/logs": {"get": _op("a job's output files", _ok(_array(_object(
            {"path": _STR, "text": _STR}))), parameters=[_JOB_ID])},
        "/api/jobs/{job_id}/logs/stream": {"get": _op(
            "server-sent events: `log` {path, text} as output grows, `status` (the job's tasks), "
            "`note`, `end`",
            _ok(_STR, "text/event-stream"), parameters=[_JOB_ID])},
        "/api/nodes": {"get": _op("the nodes: state, provider, pool, market, scheduler state, load",
                                  _ok(_array(_NODE)))},
        "/api/nodes/{node}/drain": {"post": _op("stop placing jobs on a compute node", _ok(_object(
            {"node": _STR, "ok": _BOOL})), parameters=[_NODE_NAME])},
        "/api/nodes/{node}/resume": {"post": _op("place jobs on a compute node again", _ok(_object(
            {"node": _STR, "ok": _BOOL})), parameters=[_NODE_NAME])},
        "/api/events": {"get": _op("the cluster's events (resizes, reclaims, failovers)", _ok(_array(
            _object({"at": _NUM, "kind": _STR, "message": _STR}))),
            parameters=[_param("since", "query", _NUM)])},
        "/api/storage": {"get": _op("the head's file systems and data disks", _ok(_object(
            {"mounts": _array(_MOUNT), "disks": _array(_MOUNT), "shared_dir": _STR})))},
        "/api/cost": {"get": _op(
            "what the cluster has cost so far and costs per hour now, by pool, provider and "
            "market (priced by the clouds' price APIs; disks and traffic not counted), its "
            "budget, and the dearest finished jobs", _ok(_COST),
            parameters=[_param("jobs", "query", {"type": "integer", "minimum": 0, "maximum": 100,
                                                  "description": "how many jobs (default 10)"})])},
    },
}
