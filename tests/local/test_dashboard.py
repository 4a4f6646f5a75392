"""The head agent's web API and dashboard over real HTTP, through `ehpc dashboard`'s SSH tunnel,
against real local clusters (Slurm, Grid Engine, PBS): every route wants the token, every answer
matches the agent's own OpenAPI document, a local cluster costs $0 ("this machine"); on Slurm
(made with a budget) a headless Chromium (Debian's, driven by Playwright) logs in, reads the cost
panel and its budget bar, submits a job with an input file from the form, watches it go pending
-> running -> completed without reloading, reads its output and cost and cancels another job. Screenshots go
to the test's own directory, or to docs/dashboard/ with EHPC_DASHBOARD_SHOTS=1 (to refresh the docs):
a test run leaves the tree as it was."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .helpers import ROOT, Ehpc, leftovers

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


@dataclass
class Dashboard:
    ehpc: Ehpc
    name: str
    base: str  # the browser's address: http://NAME-XXXXXXXX.localhost:PORT
    token: str  # an operator's API token
    login: str

    @property
    def api(self) -> str:  # scripts call 127.0.0.1 with a token (Python does not resolve .localhost)
        return "http://127.0.0.1:" + self.base.rsplit(":", 1)[1]

    def issue(self, user: str, *extra: str) -> dict[str, Any]:
        return json.loads(self.ehpc.run("dashboard", self.name, "--issue", user, "--json", *extra).stdout)

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
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
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
    token = json.loads(ehpc.run("dashboard", name, "--issue", "tester", "--json").stdout)["token"]
    tunnel, base, login = open_dashboard(ehpc, name)
    try:
        yield Dashboard(ehpc, name, base, token, login)
    finally:
        close(tunnel)
        ehpc.run("cluster", "terminate", name, check=False)
        assert leftovers(name, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)


def open_dashboard(ehpc: Ehpc, name: str, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """`ehpc dashboard NAME`: (its process, the dashboard's address, the login link)."""
    tunnel = subprocess.Popen([sys.executable, "-m", "elastichpc", "dashboard", name, "--no-browser",
                               *extra], env=ehpc.env, stdout=subprocess.PIPE, text=True)
    assert tunnel.stdout is not None
    lines = [tunnel.stdout.readline() for _ in range(2)]
    base = lines[0].split(": ", 1)[1].strip().removesuffix("/jobs")
    assert base.startswith(f"http://{name}-") and ".localhost:" in base, lines
    return tunnel, base, lines[1].split(": ", 1)[1].strip()


def close(tunnel: subprocess.Popen[str]) -> None:
    tunnel.terminate()
    tunnel.wait(timeout=30)


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


@contextlib.contextmanager
def chromium(dash: Dashboard) -> Iterator[Browser]:
    """Debian's headless Chromium (the pages are the same on every scheduler: Slurm's only)."""
    if dash.name != "dbwslurm":
        pytest.skip("the pages are the same on every scheduler: the browser runs on Slurm")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-system-packages.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


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
    request = urllib.request.Request(dash.api + "/jobs")
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
    from playwright.sync_api import expect

    shots = DOCS_SHOTS if os.environ.get("EHPC_DASHBOARD_SHOTS") == "1" else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    infile = tmp_path / "in.txt"
    infile.write_text("from the browser\n")
    with chromium(dash) as browser:
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
            assert post(page, dash.base + target, form) == 403
        assert post(page, f"{dash.base}/api/jobs/{other['job_id']}/cancel") == 403
        assert dash.call("GET", f"/api/jobs/{other['job_id']}")[1][0]["state"] in ("pending", "running")
        dash.call("POST", f"/api/jobs/{other['job_id']}/cancel", data=b"")

        for name in ("nodes", "storage", "events"):
            page.goto(f"{dash.base}/{name}")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        # Bad input: the error page's Back returns to the form, under the page's own CSP.
        blocked: list[str] = []
        page.on("console", lambda message: blocked.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(dash.base + "/submit")
        page.fill("#command", "true")
        page.fill("input[name=array]", "5-1")
        page.click("form.submit button")
        expect(page.locator("#error")).to_contain_text("array")
        page.click("#back")
        page.wait_for_url(dash.base + "/submit")
        assert blocked == []


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


def post(page: Any, url: str, form: dict[str, str] | None = None) -> int:
    """A POST by the page itself (the browser resolves .localhost; Playwright's own requests
    do not): its status."""
    return int(page.evaluate("""async ([url, form]) => (await fetch(url, {method: "POST",
        body: form ? new URLSearchParams(form) : null, redirect: "manual"})).status""", [url, form]))


def get(page: Any, url: str) -> int:
    return int(page.evaluate("async url => (await fetch(url)).status", url))


def host_of(base: str) -> str:
    return base.split("//", 1)[1].rsplit(":", 1)[0]


def test_session_cookie_stays_with_its_dashboard(dash: Dashboard) -> None:
    """Another local server never gets the cookie; two clusters' dashboards in one browser keep
    both sessions; the cookie alone, sent from elsewhere, opens nothing; a page whose tunnel ends
    says it lost the agent."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from playwright.sync_api import expect

    heard: list[tuple[str, str]] = []  # (path, Cookie header): the pages and their favicons

    class Listen(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            heard.append((self.path, self.headers.get("Cookie") or ""))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"another server")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Listen)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other = server.server_address[1]
    first, base, login = open_dashboard(dash.ehpc, dash.name)  # a fresh login link: it works once
    dash = replace(dash, base=base, login=login)
    second = None
    try:
        dash.ehpc.create("dbwtwo", 1)  # a second cluster (Slurm): its own dashboard
        second, base2, login2 = open_dashboard(dash.ehpc, "dbwtwo")
        with chromium(dash) as browser:
            page = browser.new_context().new_page()  # one cookie jar for both dashboards
            page.goto(dash.login)
            assert page.url == dash.base + "/jobs"
            tab = page.context.new_page()
            tab.goto(login2)
            assert tab.url == base2 + "/jobs"
            sessions = {c["domain"]: c for c in page.context.cookies() if c["name"] == "ehpc_session"}
            assert set(sessions) == {host_of(dash.base), host_of(base2)}, sessions
            assert all(c["httpOnly"] and c["sameSite"] == "Strict" for c in sessions.values())
            for url in (f"http://127.0.0.1:{other}/", f"http://localhost:{other}/",
                        f"http://{dash.name}-other.localhost:{other}/"):
                page.goto(url)
            assert [p for p, _ in heard].count("/") == 3, heard
            assert not [c for _, c in heard if "ehpc_session" in c], heard
            for each, base in ((page, dash.base), (tab, base2)):  # neither logged the other out
                each.goto(base + "/nodes")
                assert each.url == base + "/nodes"
            # The cookie alone, sent from another host name, is refused; at its own, it works.
            cookie = {"Cookie": f"ehpc_session={sessions[host_of(dash.base)]['value']}"}
            assert dash.call("GET", "/api/cluster", token="", headers=cookie)[0] == 401
            own = {**cookie, "Host": dash.base.removeprefix("http://")}
            assert dash.call("GET", "/api/cluster", token="", headers=own)[0] == 200
            # At 127.0.0.1 (a cookie there would go to every local port) no session is made.
            page.goto(dash.api + "/login")
            expect(page.locator("#wrong-host")).to_be_visible()
            page.fill("input[name=token]", dash.token)
            page.click("form.card button")
            assert page.url.endswith("/login?failed=1")
            assert not [c for c in page.context.cookies() if c["domain"] == "127.0.0.1"
                        and c["name"] == "ehpc_session"]
            # The second tunnel ends: its page says so instead of going stale.
            expect(tab.locator("#lost")).to_be_hidden()
            close(second)
            expect(tab.locator("#lost")).to_be_visible(timeout=15_000)
            expect(page.locator("#lost")).to_be_hidden()
    finally:
        close(first)
        if second:
            close(second)
        server.shutdown()
        dash.ehpc.run("cluster", "terminate", "dbwtwo", check=False)
        state = Path(dash.ehpc.env["EHPC_STATE_DIR"])
        assert leftovers("dbwtwo", dash.ehpc.local_root, state, []) == []


def test_viewers_read_only_and_ended_tokens_are_refused(dash: Dashboard) -> None:
    from playwright.sync_api import expect

    brief = dash.issue("brief", "--role", "viewer", "--expires", "1m")
    started = time.monotonic()
    viewer = dash.issue("vera", "--role", "viewer")
    assert dash.token not in dash.ehpc.run("dashboard", dash.name, "--grants", "--json").stdout
    status, body = dash.call("POST", "/api/jobs", body={"command": "true"}, token=viewer["token"])
    assert status == 403 and "vera is a viewer" in body["error"], body
    assert dash.call("GET", "/api/jobs", token=viewer["token"])[0] == 200
    job = dash.call("POST", "/api/jobs", body={"command": "sleep 60", "name": "dbrun"})[1]["job_id"]
    with chromium(dash) as browser:
        page = browser.new_page()
        page.goto(dash.base + "/login")
        page.fill("input[name=token]", viewer["token"])
        page.click("form.card button")
        assert page.url == dash.base + "/jobs"
        expect(page.locator("#who")).to_have_text("vera · viewer")
        expect(page.locator("header nav a")).to_have_count(4)  # no Submit
        page.goto(f"{dash.base}/jobs/{job}")
        expect(page.locator("#tasks .state")).to_have_text("running", timeout=60_000)
        expect(page.locator("#tasks tr td").nth(2)).to_have_text("")  # no exit code while it runs
        assert page.locator("#cancel").count() == 0
        page.goto(dash.base + "/nodes")
        assert page.locator("td form").count() == 0
        csrf = page.get_attribute("meta[name=csrf]", "content")
        assert get(page, dash.base + "/submit") == 403
        assert post(page, dash.base + "/submit", {"csrf": csrf or "", "command": "true"}) == 403
        assert post(page, f"{dash.base}/jobs/{job}/cancel", {"csrf": csrf or ""}) == 403
        assert dash.call("GET", f"/api/jobs/{job}")[1][0]["state"] == "running"
        # Revoked: the token and the sessions made with it end at once.
        dash.ehpc.run("dashboard", dash.name, "--revoke", viewer["id"])
        assert dash.call("GET", "/api/jobs", token=viewer["token"])[0] == 401
        page.goto(dash.base + "/jobs")
        assert page.url == dash.base + "/login"
    grants = json.loads(dash.ehpc.run("dashboard", dash.name, "--grants", "--json").stdout)
    assert {g["id"]: g["state"] for g in grants}[viewer["id"]] == "revoked"
    assert dash.call("GET", "/api/cluster", token=brief["token"])[0] == 200
    time.sleep(max(0.0, 61 - (time.monotonic() - started)))
    assert dash.call("GET", "/api/cluster", token=brief["token"])[0] == 401
    dash.call("POST", f"/api/jobs/{job}/cancel", data=b"")


def test_jobs_from_every_path_show_with_their_output(dash: Dashboard) -> None:
    """A job from the CLI, one from the Python API, one by hand (sbatch: a name with spaces) and
    one from the web API all show once finished (the scheduler's accounting); the CLI's output
    on the dashboard, the web job's through `ehpc job logs`."""
    cli = json.loads(dash.ehpc.run("job", "submit", dash.name, "--json", "--", "echo from-cli").stdout)[
        "job_id"]
    api = subprocess.run([sys.executable, "-c", "import sys; from elastichpc import submit_job; "
                          "from elastichpc.schedulers import JobSpec; "
                          f"print(submit_job({dash.name!r}, JobSpec(command=['echo', 'api'])))"],
                         env=dash.ehpc.env, capture_output=True, text=True, check=True).stdout.strip()
    by_hand, hand_name = (("qsub -b y -N by-hand -o /dev/null -e /dev/null echo by-hand", "by-hand")
                          if dash.name == "dbwsge" else  # PBS runs on Slurm: sbatch there too
                          ("sbatch -J 'two words' --wrap 'echo by-hand'", "two words"))
    said = dash.ehpc.run("ssh", dash.name, "--", by_hand).stdout  # "...job 7..." on both
    hand = next(word for word in said.split() if word.isdigit())
    web = dash.call("POST", "/api/jobs", body={"command": "echo from-web"})[1]["job_id"]

    seen: list[Any] = []

    def listed() -> dict[str, Any]:
        found = {j["job_id"]: j for j in dash.call("GET", "/api/jobs?hours=1")[1]}
        seen[:] = [(cli, api, hand, web), found]
        return found if all(found.get(j, {}).get("finished") for j in (cli, api, hand, web)) else {}

    try:
        found = wait_for(listed, 120, "every job finished on the dashboard")
    except AssertionError:
        raise AssertionError(f"not every job finished on the dashboard: {seen}") from None
    assert found[hand]["name"] == hand_name and found[hand]["state"] == "completed", found[hand]
    assert {found[j]["exit_code"] for j in (cli, api, hand, web)} == {0}
    assert [log["text"] for log in dash.call("GET", f"/api/jobs/{cli}/logs")[1]] == ["from-cli\n", ""]
    out = dash.ehpc.run("job", "logs", dash.name, web).stdout
    assert "from-web" in out, out
