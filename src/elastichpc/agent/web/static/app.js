// The dashboard's live parts: the queue polls /api/jobs and the cost panel /api/cost; a job's
// page follows its server-sent events (status and output); every page checks it still reaches
// the head agent. Text always goes in with textContent, never as HTML.
"use strict";

// The tunnel or the agent gone: say so on the page (what it shows is no longer live) until
// the agent answers again.
function reachAgent(reached) {
  document.getElementById("lost").hidden = reached;
  document.body.classList.toggle("stale", !reached);
}

async function probeAgent() {
  try {
    const reply = await fetch("/api/cluster", { credentials: "same-origin" });
    if (reply.status === 401) { location.href = "/login"; return; }
    reachAgent(reply.ok);
  } catch (error) {
    reachAgent(false);
  }
}

function watchAgent() {
  const tick = () => probeAgent().finally(() => setTimeout(tick, 3000));
  setTimeout(tick, 3000);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  if (cls) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    td.appendChild(span);
  } else {
    td.textContent = text;
  }
  row.appendChild(td);
  return td;
}

function when(at) {
  return at ? new Date(at * 1000).toLocaleString() : "";
}

// US dollars as `ehpc cluster cost` writes them (state/runs.py format_usd).
function usd(value) {
  if (value === null || value === undefined) return "unknown";
  if (value < 1) return "$" + value.toFixed(4);
  return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function jobCost(job) {
  return job.cost === null || job.cost === undefined ? "" : usd(job.cost);
}

function jobOrder(a, b) {
  return (parseInt(b.job_id) - parseInt(a.job_id)) || (parseInt(a.task || 0) - parseInt(b.task || 0));
}

async function refreshQueue(body) {
  const state = document.getElementById("state-filter").value;
  const hours = document.getElementById("hours").value;
  const query = new URLSearchParams({ hours });
  if (state) query.set("state", state);
  const reply = await fetch("/api/jobs?" + query, { credentials: "same-origin" });
  if (reply.status === 401) { location.href = "/login"; return; }
  const jobs = (await reply.json()).sort(jobOrder);
  const rows = jobs.map((job) => {
    const row = document.createElement("tr");
    row.dataset.job = job.job_id;
    row.dataset.state = job.state;
    const link = document.createElement("a");
    link.href = "/jobs/" + encodeURIComponent(job.job_id);
    link.textContent = job.job_id;
    cell(row, "").appendChild(link);
    cell(row, job.task || "—");
    cell(row, job.name);
    cell(row, job.state, "state " + job.state);
    cell(row, job.exit_code === null ? "" : String(job.exit_code));
    cell(row, job.nodes);
    cell(row, job.user);
    cell(row, job.elapsed);
    cell(row, jobCost(job)).className = "cost";
    cell(row, when(job.submitted_at));
    return row;
  });
  if (!rows.length) {
    const row = document.createElement("tr");
    cell(row, "no jobs").colSpan = 10;
    rows.push(row);
  }
  body.replaceChildren(...rows);
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

function followQueue(body) {
  const tick = () => refreshQueue(body).catch(() => {}).finally(() => setTimeout(tick, 2000));
  tick();
  for (const id of ["state-filter", "hours"]) {
    document.getElementById(id).addEventListener("change", () => refreshQueue(body));
  }
}

// The cost panel: so far, per hour now, a line per pool, and the budget's bar (warn at 80%,
// spent at 100%, as the head agent does).
async function refreshCost(panel) {
  const reply = await fetch("/api/cost?jobs=0", { credentials: "same-origin" });
  if (reply.status === 401) { location.href = "/login"; return; }
  if (!reply.ok) throw new Error("cost: " + reply.status);
  const cost = await reply.json();
  document.getElementById("cost-so-far").textContent = usd(cost.so_far);
  document.getElementById("cost-hourly").textContent =
    cost.hourly === null ? "unknown" : usd(cost.hourly) + "/h";
  document.getElementById("cost-since").textContent =
    cost.since ? "since " + when(cost.since) : "no machine has run";
  const unknown = document.getElementById("cost-unknown");
  unknown.hidden = !cost.unknown_hours;
  unknown.textContent = "plus " + cost.unknown_hours.toFixed(2) +
    " machine-hours at prices not known (see Price from)";
  const rows = cost.lines.map((line) => {
    const row = document.createElement("tr");
    row.dataset.pool = line.pool;
    cell(row, line.pool);
    cell(row, line.provider);
    cell(row, line.market, "market " + line.market);
    cell(row, line.instance_type || "–");
    cell(row, String(line.running));
    cell(row, usd(line.so_far));
    cell(row, line.running ? usd(line.hourly) : "–");
    cell(row, line.source).className = "source";
    return row;
  });
  if (!rows.length) {
    const row = document.createElement("tr");
    cell(row, "no machine has run").colSpan = 8;
    rows.push(row);
  }
  document.getElementById("cost-lines").replaceChildren(...rows);
  const budget = document.getElementById("budget");
  budget.hidden = cost.budget === null;
  if (cost.budget !== null) {
    const percent = Math.floor(100 * cost.used);
    budget.classList.toggle("warn", cost.used >= 0.8 && cost.used < 1);
    budget.classList.toggle("spent", cost.used >= 1);
    document.getElementById("budget-used").textContent = percent + "%";
    document.getElementById("budget-amount").textContent = usd(cost.budget);
    document.getElementById("budget-action").textContent = cost.budget_action;
    const bar = document.getElementById("budget-bar");
    bar.setAttribute("aria-valuenow", String(Math.min(100, percent)));
    document.getElementById("budget-fill").style.width = Math.min(100, 100 * cost.used) + "%";
    document.getElementById("budget-event").textContent = cost.events.length
      ? "last: " + cost.events[cost.events.length - 1] : "";
  }
  panel.dataset.updated = String(Date.now());
}

function followCost(panel) {
  const tick = () => refreshCost(panel).catch(() => {}).finally(() => setTimeout(tick, 5000));
  tick();
}

function logBox(path) {
  const logs = document.getElementById("logs");
  for (const box of logs.children) {
    if (box.dataset.path === path) return box.querySelector("pre");
  }
  const box = document.createElement("section");
  box.className = "log";
  box.dataset.path = path;
  const title = document.createElement("h3");
  title.textContent = path;
  const pre = document.createElement("pre");
  box.append(title, pre);
  logs.appendChild(box);
  return pre;
}

function followJob(body) {
  const job = body.dataset.job;
  const following = document.getElementById("following");
  following.textContent = "following…";
  const source = new EventSource("/api/jobs/" + encodeURIComponent(job) + "/logs/stream");
  source.addEventListener("log", (event) => {
    const data = JSON.parse(event.data);
    const pre = logBox(data.path);
    pre.textContent += data.text;
    pre.scrollTop = pre.scrollHeight;
  });
  source.addEventListener("status", (event) => {
    const tasks = JSON.parse(event.data);
    body.replaceChildren(...tasks.map((t) => {
      const row = document.createElement("tr");
      cell(row, t.task || "—");
      cell(row, t.state, "state " + t.state);
      cell(row, t.exit_code === null ? "" : String(t.exit_code));
      cell(row, t.nodes);
      cell(row, t.user);
      cell(row, t.elapsed);
      cell(row, jobCost(t)).className = "cost";
      cell(row, t.raw_state);
      return row;
    }));
    const cancel = document.getElementById("cancel");  // only an operator has one
    if (cancel) cancel.disabled = tasks.every((t) => t.finished);
  });
  source.addEventListener("note", (event) => {
    following.textContent = JSON.parse(event.data).text;
  });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED) following.textContent = "reconnecting…";
  });
  source.addEventListener("end", () => {
    source.close();
    following.textContent = "finished";
  });
}

function submitForm(form) {
  const sync = () => {
    const script = form.querySelector("input[name=kind]:checked").value === "script";
    document.getElementById("command").closest("label").hidden = script;
    document.getElementById("script").closest("label").hidden = !script;
  };
  form.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", sync));
  sync();
}

// The error page's Back: a script of this origin (the CSP blocks javascript: links).
function backLink(link) {
  link.addEventListener("click", (event) => {
    if (history.length > 1) { event.preventDefault(); history.back(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.getElementById("lost")) watchAgent();
  const back = document.getElementById("back");
  if (back) backLink(back);
  const queue = document.getElementById("queue");
  if (queue) followQueue(queue);
  const cost = document.getElementById("cost");
  if (cost) followCost(cost);
  const tasks = document.getElementById("tasks");
  if (tasks) followJob(tasks);
  const form = document.querySelector("form.submit");
  if (form) submitForm(form);
});
