"""The head agent's web API and dashboard over real HTTP, through `ehpc dashboard`'s SSH tunnel,
against real local clusters (Slurm, Grid Engine, PBS): every route wants the token, every answer
matches the agent's own OpenAPI document, a local cluster costs $0 ("this machine"); on Slurm
(made with a budget) a headless Chromium (Debian's, driven by Playwright) logs in, reads the cost
panel and its budget bar, submits a job with an input file from the form, watches it go pending
-> running -> completed without reloading, reads its output and cost and cancels another job. Screenshots go
to the test's own directory, or to docs/dashboard/ with EHPC_DASHBOARD_SHOTS=1 (to refresh the docs):
a test run leaves the tree as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .helpers import ROOT, Ehpc, leftovers

CHROMIUM = "/usr/bin/chromium"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


@dataclass
class Dashboard:
    ehpc: Ehpc
    name: str
    base: str
    token: str
    login: str

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, Any]:
        headers = dict(headers or {})
        if token is None:
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                raw, status, kind = reply.read(), reply.status, reply.headers.get("content-type", "")
        except urllib.error.HTTPError as err:
            raw, status, kind = err.read(), err.code, err.headers.get("content-type", "")
        return status, json.loads(raw) if kind.startswith("application/json") else raw.decode()


@pytest.fixture(scope="module", params=["slurm", "sge", "pbs"])
def dash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    name = f"dbw{request.param}"
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"db-{state.parent.name}")
    budget = ["--budget", "5"] if request.param == "slurm" else []  # the browser's cluster
    ehpc.create(name, 1, "--scheduler", request.param, *budget)
    tunnel = subprocess.Popen([sys.executable, "-m", "elastichpc", "dashboard", name, "--no-browser",
                               "--print-token"], env=ehpc.env, stdout=subprocess.PIPE, text=True)
    try:
        assert tunnel.stdout is not None
        lines = [tunnel.stdout.readline() for _ in range(3)]
        base = lines[0].split(": ", 1)[1].strip().removesuffix("/jobs")
        token, login = (line.split(": ", 1)[1].strip() for line in (lines[2], lines[1]))
        yield Dashboard(ehpc, name, base, token, login)
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=30)
        ehpc.run("cluster", "terminate", name, check=False)
        assert leftovers(name, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)


def openapi(dash: Dashboard) -> dict[str, Any]:
    status, document = dash.call("GET", "/api/openapi.json")
    assert status == 200
    return document  # type: ignore[no-any-return]


def check(dash: Dashboard, method: str, template: str, path: str, expect: int, **kw: Any) -> Any:
    """Call and validate the answer against the operation's schema in the OpenAPI document."""
    import jsonschema

    status, body = dash.call(method, path, **kw)
    assert status == expect, (method, path, status, body)
    response = openapi(dash)["paths"][template][method.lower()]["responses"][str(status)]
    (kind, content), = response["content"].items()
    if kind == "application/json":
        jsonschema.validate(body, content["schema"])
    return body


def wait_for(check_once: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check_once()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_every_route_wants_the_token(dash: Dashboard) -> None:
    paths = openapi(dash)["paths"]
    assert len(paths) >= 12
    for template, operations in paths.items():
        path = template.replace("{job_id}", "1").replace("{node}", f"{dash.name}-node1")
        for method in operations:
            for token in ("", "wrong-" + dash.token[6:]):
                status, body = dash.call(method.upper(), path, token=token,
                                         body={"command": "true"} if method == "post" else None)
                assert status == 401 and body == {"error": "a valid API token is needed"}, (method, path)
    for page in ("/jobs", "/sge", "/nodes", "/submit", "/storage", "/events", "/jobs/1"):
        status, _ = dash.call("GET", page, token="")
        assert status == 200  # urllib follows the redirect: to the login page
    request = urllib.request.Request(dash.base + "/jobs")
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.url.endswith("/login")
        assert reply.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in reply.headers["content-security-policy"]
    # Only the tunnel's host names: a page of another site rebinding its name here gets nothing.
    assert dash.call("GET", "/api/cluster", headers={"Host": "evil.example"})[0] == 400


def test_api_answers_match_the_openapi_document(dash: Dashboard) -> None:
    check(dash, "GET", "/api/cluster", "/api/cluster", 200)
    nodes = check(dash, "GET", "/api/nodes", "/api/nodes", 200)
    assert {n["role"] for n in nodes} == {"head", "compute"}
    # slurmd reports its load when it registers: every compute node has one
    assert all(isinstance(n["load"], float) for n in nodes if n["role"] == "compute"), nodes
    job = check(dash, "POST", "/api/jobs", "/api/jobs", 201,
                body={"command": ["bash", "-c", "echo out; echo err >&2"], "name": "dbapi", "cpus": 1})
    boundary = "dbboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"command\"\r\n\r\ncat in.txt\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"in.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\nuploaded text\n\r\n--{boundary}--\r\n").encode()
    upload = check(dash, "POST", "/api/jobs", "/api/jobs", 201, data=form,
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    for job_id in (job["job_id"], upload["job_id"]):
        wait_for(lambda j=job_id: check(dash, "GET", "/api/jobs/{job_id}", f"/api/jobs/{j}", 200)[0][
            "finished"], 90, f"job {job_id}")
    logs = check(dash, "GET", "/api/jobs/{job_id}/logs", f"/api/jobs/{job['job_id']}/logs", 200)
    assert [log["text"] for log in logs] == ["out\n", "err\n"]
    logs = check(dash, "GET", "/api/jobs/{job_id}/logs", f"/api/jobs/{upload['job_id']}/logs", 200)
    assert logs[0]["text"] == "uploaded text\n"
    stream = check(dash, "GET", "/api/jobs/{job_id}/logs/stream",
                   f"/api/jobs/{job['job_id']}/logs/stream", 200)
    assert "event: log" in stream and "event: end" in stream
    listed = check(dash, "GET", "/api/jobs", "/api/jobs?hours=1&state=completed", 200)
    assert {job["job_id"], upload["job_id"]} <= {j["job_id"] for j in listed}
    assert check(dash, "GET", "/api/jobs", "/api/jobs?name=dbapi", 200)[0]["job_id"] == job["job_id"]
    long = check(dash, "POST", "/api/jobs", "/api/jobs", 201, body={"command": "sleep 300"})
    check(dash, "POST", "/api/jobs/{job_id}/cancel", f"/api/jobs/{long['job_id']}/cancel", 200, data=b"")
    check(dash, "POST", "/api/nodes/{node}/drain", f"/api/nodes/{dash.name}-node1/drain", 200, data=b"")
    check(dash, "POST", "/api/nodes/{node}/resume", f"/api/nodes/{dash.name}-node1/resume", 200, data=b"")
    events = check(dash, "GET", "/api/events", "/api/events", 200)
    assert any("drained (dashboard)" in e["message"] for e in events)
    storage = check(dash, "GET", "/api/storage", "/api/storage", 200)
    assert "/shared" in {m["target"] for m in storage["mounts"]}
    assert not [m for m in storage["mounts"] if m["target"].startswith("/srv")]  # no host paths
    # Bad input: one clear line, nothing submitted; a job's fields never reach a shell of ours.
    for bad in ({"command": "true", "cpus": 0}, {"command": "true", "name": "a b;rm -rf /"}, {},
                {"command": "true", "array": "5-1"}, {"command": ["x"], "script": "y", "env": {"A B": "1"}},
                {"command": "true", "cpus": "lots"}):
        assert "error" in check(dash, "POST", "/api/jobs", "/api/jobs", 400, body=bad)
    check(dash, "GET", "/api/jobs/{job_id}", "/api/jobs/1;id", 400)
    check(dash, "POST", "/api/nodes/{node}/drain", f"/api/nodes/{dash.name}-head/drain", 400, data=b"")


def test_a_local_cluster_costs_nothing(dash: Dashboard) -> None:
    cost = check(dash, "GET", "/api/cost", "/api/cost", 200)
    assert cost["cluster"] == dash.name
    assert (cost["so_far"], cost["hourly"], cost["unknown_hours"]) == (0, 0, 0), cost
    assert cost["since"] is not None and cost["since"] <= time.time()
    lines = sorted(((line["pool"] == "head", line["provider"], line["running"], line["so_far"],
                     line["hourly"], line["source"]) for line in cost["lines"]), reverse=True)
    assert lines == [(True, "local", 1, 0, 0, "this machine"),  # the head, then the pool
                     (False, "local", 1, 0, 0, "this machine")], cost["lines"]
    if dash.name == "dbwslurm":  # made with --budget 5
        assert (cost["budget"], cost["budget_action"], cost["used"]) == (5, "stop-jobs", 0)
    else:
        assert (cost["budget"], cost["used"]) == (None, None)
    assert all("budget" in message for message in cost["events"])
    # The prices are known now: a finished job's estimated cost is $0 here, wherever it shows.
    job = dash.call("POST", "/api/jobs", body={"command": "sleep 1", "name": "dbcost"})[1]
    report = wait_for(lambda: (found := check(dash, "GET", "/api/jobs/{job_id}",
                                              f"/api/jobs/{job['job_id']}", 200))[0]["finished"]
                      and found, 90, "the job")
    assert report[0]["state"] == "completed" and report[0]["cost"] == 0, report
    listed = check(dash, "GET", "/api/jobs", "/api/jobs?name=dbcost", 200)
    assert [j["cost"] for j in listed] == [0], listed
    cost = check(dash, "GET", "/api/cost", "/api/cost", 200)
    dearest = [j for j in cost["jobs"] if j["job_id"] == job["job_id"]]
    assert dearest and dearest[0]["cost"] == 0 and dearest[0]["name"] == "dbcost", cost["jobs"]
    assert len(cost["jobs"]) <= 10
    assert check(dash, "GET", "/api/cost", "/api/cost?jobs=0", 200)["jobs"] == []
    assert "error" in check(dash, "GET", "/api/cost", "/api/cost?jobs=lots", 400)


def test_browser_submit_watch_read_cancel(dash: Dashboard, tmp_path: Path) -> None:
    if dash.name != "dbwslurm":
        pytest.skip("the pages are the same on every scheduler: the browser runs on Slurm")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    shots = DOCS_SHOTS if os.environ.get("EHPC_DASHBOARD_SHOTS") == "1" else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    infile = tmp_path / "in.txt"
    infile.write_text("from the browser\n")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(dash.base + "/login")
            page.screenshot(path=str(shots / "login.png"))
            page.goto(dash.login)
            assert page.url.endswith("/jobs")
            page.goto(dash.login)  # a login link works once
            assert "/login" in page.url and page.locator(".bad").is_visible()
            page.goto(dash.login.replace("/login?code=", "/login?code=x"))
            page.fill("input[name=token]", dash.token)
            page.click("form.card button")
            assert page.url.endswith("/jobs")

            # The cost panel: $0 on this machine, and the --budget 5 bar at 0% with its action;
            # a new budget's event shows at the next poll.
            expect(page.locator("#cost-so-far")).to_have_text("$0.0000", timeout=30_000)
            expect(page.locator("#cost-hourly")).to_have_text("$0.0000/h")
            expect(page.locator("#cost-lines tr")).to_have_count(2)
            expect(page.locator('#cost-lines tr[data-pool="head"] td.source')).to_have_text(
                "this machine")
            expect(page.locator("#budget")).to_be_visible()
            expect(page.locator("#budget-used")).to_have_text("0%")
            expect(page.locator("#budget-amount")).to_have_text("$5.00")
            expect(page.locator("#budget-action")).to_have_text("stop-jobs")
            assert page.get_attribute("#budget", "class") == "budget"  # neither warn nor spent
            dash.ehpc.run("cluster", "budget", dash.name, "5")
            expect(page.locator("#budget-event")).to_have_text(
                "last: budget set to $5 (stop-jobs)", timeout=30_000)
            page.locator("#cost").screenshot(path=str(shots / "cost.png"))

            # Hold the job back (node drained), so "pending" is seen for sure.
            dash.call("POST", f"/api/nodes/{dash.name}-node1/drain", data=b"")
            page.goto(dash.base + "/submit")
            page.fill("#command", "cat in.txt; sleep 3; echo finished")
            page.fill("input[name=name]", "dbform")
            page.set_input_files("input[name=files]", str(infile))
            page.screenshot(path=str(shots / "submit.png"))
            page.click("form.submit button")
            job_id = page.url.rsplit("/", 1)[1]
            assert job_id.isdigit()

            page.goto(dash.base + "/sge")  # the guide's job monitor path
            assert page.url.endswith("/jobs")
            page.evaluate("""id => { window.notReloaded = true; window.seen = [];
                setInterval(() => { const row = document.querySelector(`tr[data-job="${id}"]`);
                  const s = row && row.dataset.state;
                  if (s && s !== window.seen[window.seen.length - 1]) window.seen.push(s);
                }, 100); }""", job_id)
            page.wait_for_function("() => window.seen.includes('pending')", timeout=60_000)
            page.screenshot(path=str(shots / "jobs.png"))
            dash.call("POST", f"/api/nodes/{dash.name}-node1/resume", data=b"")
            page.wait_for_function("() => window.seen.includes('completed')", timeout=120_000)
            assert page.evaluate("window.notReloaded") is True
            assert page.evaluate("window.seen") == ["pending", "running", "completed"]
            expect(page.locator(f'tr[data-job="{job_id}"] td.cost')).to_have_text("$0.0000")

            page.goto(f"{dash.base}/jobs/{job_id}")
            output = page.locator(".log pre").first
            expect(output).to_have_text("from the browser\nfinished\n", timeout=60_000)
            expect(page.locator("#following")).to_have_text("finished", timeout=30_000)
            expect(page.locator("#tasks td.cost")).to_have_text("$0.0000")
            page.screenshot(path=str(shots / "job.png"), full_page=True)

            long = dash.call("POST", "/api/jobs", body={"command": "sleep 300", "name": "dblong"})[1]
            page.goto(f"{dash.base}/jobs/{long['job_id']}")
            page.click("#cancel")
            expect(page.locator("#tasks .state")).to_have_text("cancelled", timeout=60_000)

            # A form post or a session API post without the CSRF token is refused.
            other = dash.call("POST", "/api/jobs", body={"command": "sleep 300", "name": "dbkeep"})[1]
            for target, form in ((f"/jobs/{other['job_id']}/cancel", {}),
                                 ("/submit", {"command": "true"}),
                                 (f"/nodes/{dash.name}-node1/drain", {"csrf": "forged"})):
                assert page.request.post(dash.base + target, form=form).status == 403
            assert page.request.post(f"{dash.base}/api/jobs/{other['job_id']}/cancel").status == 403
            assert dash.call("GET", f"/api/jobs/{other['job_id']}")[1][0]["state"] in ("pending", "running")
            dash.call("POST", f"/api/jobs/{other['job_id']}/cancel", data=b"")

            for name in ("nodes", "storage", "events"):
                page.goto(f"{dash.base}/{name}")
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        finally:
            browser.close()


def test_dashboard_command_refuses_bad_input(dash: Dashboard) -> None:
    import socket

    proc = dash.ehpc.run("dashboard", "dbnosuch", "--no-browser", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("ehpc: error: no cluster named 'dbnosuch'")
    with socket.socket() as taken:  # a link must never point at another program's server
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = dash.ehpc.run("dashboard", dash.name, "--port", str(port), "--no-browser", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"ehpc: error: local port {port} is in use: choose another --port"
