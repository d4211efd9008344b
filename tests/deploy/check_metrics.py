#!/usr/bin/python3
"""Checks that the dashboards (deploy/grafana) and alert rules (deploy/prometheus)
name only metrics that nmoe exports, and that every panel has data on a real
Prometheus server scraping a real nmoe-coordinator and two nmoe-workers at work.

1. Starts nmoe-coordinator (loopback, port 0), a Prometheus server (Debian's)
   scraping it every 0.5 s with deploy/prometheus/alerts.yml loaded, and two
   nmoe-workers with --metrics-port 0 (scraped too once their ports are known).
2. Control plane: makes a job fail (an allocation whose profile does not exist,
   max_restarts 0), cancels another, and provokes a NOT_FOUND RPC, so counters with
   labels exist.
3. Work: a tiny pretrain (4 steps, the committed sample corpus), a manual allocation,
   then at the same time an MoE train job (far more steps than the check waits for)
   on one worker and a profile job of the pretrained model (more sentences than the
   check waits for) on the other.
4. While both run: scrapes both workers' /metrics (every metric a query names must
   be scraped for real), evaluates every dashboard and alert expression through
   Prometheus's HTTP API (all must parse and run), and requires a finite value from
   every dashboard panel and variable query and from every series selector of the
   alert rules (retried until the rates and quantiles have two samples, within a
   deadline); then checks that both jobs were still running, cancels them, and
   requires the task series to be gone from the workers.
5. NmoeJobFailed fires (for the job that failed) and NmoeCoordinatorDown does not.
6. Every nmoe_* metric exported (scraped or registered in the sources) is
   documented in docs/metrics.md.
"""
import glob
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

from deploy_support import BINARIES, DEPLOY, SOURCE, Checks, run
from metrics_jobs import ALLOCATE, ALLOCATE_MISSING, PRETRAIN, PROFILE, train_job

WORKER_SOURCES = ["worker/*.cc", "compute/*.cc", "common/metrics.cc", "trainer/*.cc", "profiler/*.cc"]
NAME_RE = re.compile(r"\b(nmoe_[a-z0-9_]+|up)\b")
BUILTIN = {"up"}  # made by Prometheus itself


def queries():
    """[(source, expr, kind)] kind: 'panel', 'variable' or 'alert'."""
    out = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "grafana", "dashboards", "*.json"))):
        d = json.load(open(path))
        name = os.path.basename(path)

        def walk(panels):
            for p in panels:
                for t in p.get("targets", []):
                    out.append((f"{name}: {p['title']}", t["expr"], "panel"))
                walk(p.get("panels", []))
        walk(d["panels"])
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                m = re.fullmatch(r"label_values\((.+),\s*\w+\)", v["query"]["query"])
                out.append((f"{name}: variable {v['name']}", m.group(1) if m else v["query"]["query"], "variable"))
    for path in glob.glob(os.path.join(DEPLOY, "prometheus", "*.yml")):
        doc = yaml.safe_load(open(path))
        for g in doc.get("groups", []) if isinstance(doc, dict) else []:
            for r in g["rules"]:
                out.append((f"alerts: {r.get('alert') or r.get('record')}", r["expr"], "alert"))
    return out


def check_dashboards(c):
    """Grafana JSON that loads: unique uids and panel ids, panels inside the 24-column
    grid, a Prometheus datasource variable, and every $variable a query uses defined."""
    uids = set()
    for path in sorted(glob.glob(os.path.join(DEPLOY, "grafana", "dashboards", "*.json"))):
        name = os.path.basename(path)
        d = json.load(open(path))
        c.expect(d.get("uid") and d["uid"] not in uids, f"{name}: a unique uid")
        uids.add(d.get("uid"))
        variables = {v["name"]: v for v in d["templating"]["list"]}
        c.expect(variables.get("datasource", {}).get("query") == "prometheus", f"{name}: datasource variable")
        ids = [p["id"] for p in d["panels"]]
        c.expect(len(ids) == len(set(ids)), f"{name}: unique panel ids")
        for p in d["panels"]:
            g = p["gridPos"]
            c.expect(0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, f"{name}: {p['title']} inside the grid")
            if p["type"] == "row":
                continue
            c.expect(p.get("targets"), f"{name}: {p['title']} has queries")
            c.expect(p["datasource"]["uid"] == "${datasource}", f"{name}: {p['title']} uses the datasource variable")
            text = " ".join([json.dumps(p["targets"]), p["title"], str(p.get("repeat", ""))])
            for var in set(re.findall(r"\$\{?(\w+)", text)):
                c.expect(var in variables, f"{name}: {p['title']} uses ${var}, which the dashboard defines")


SELECTOR_RE = re.compile(r"\b((?:nmoe_[a-z0-9_]+|up)(?:\{[^}]*\})?)")


def selectors_in(expr):
    """The vector selectors of `expr` (metric name with its label matchers)."""
    return sorted(set(SELECTOR_RE.findall(expr)))


def names_in(expr):
    # Drop label matchers' values and strings, then take metric-like names.
    stripped = re.sub(r'"[^"]*"', '""', expr)
    return set(NAME_RE.findall(stripped))


def source_names():
    names = {}
    for pattern in WORKER_SOURCES:
        for path in glob.glob(os.path.join(SOURCE, pattern)):
            for n in re.findall(r'(?:\.Name\(|Family\(\s*\w+\s*,\s*)"(nmoe_[a-z0-9_]+)"', open(path).read()):
                names[n] = os.path.relpath(path, SOURCE)
    return names


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, what, interval=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(what)


def read_ports(path):
    try:
        lines = open(path).read().split()
        return (int(lines[0]), int(lines[1])) if len(lines) >= 2 else None
    except (OSError, ValueError):
        return None


def nmoectl(address, *args):
    return run([BINARIES["nmoectl"], "--address", address, *args], timeout=30)


def prom_query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


# Series that exist only while a train or profile task runs.
TASK_METRICS = ("nmoe_train_", "nmoe_moe_", "nmoe_profile_", "nmoe_worker_current_task")


def finite_values(result):
    """The finite sample values of an instant-query answer."""
    out = []
    for s in result.get("data", {}).get("result", []):
        try:
            v = float(s["value"][1])
        except (KeyError, ValueError, TypeError):
            continue
        if v == v and v not in (float("inf"), float("-inf")):
            out.append(v)
    return out


def main():
    c = Checks("deploy_metrics")
    qs = queries()
    c.expect(len(qs) > 40, f"found the dashboards' and rules' queries ({len(qs)})")
    check_dashboards(c)
    metrics_doc = open(os.path.join(SOURCE, "docs", "metrics.md")).read()
    registered = source_names()

    procs = []
    t0 = time.time()
    phases = []  # (what, seconds since start), printed at the end
    tmp = tempfile.TemporaryDirectory(prefix="nmoe-deploy-metrics-")
    try:
        # 1. A real coordinator, Prometheus and two workers.
        coord_log = open(os.path.join(tmp.name, "coordinator.log"), "w")
        procs.append(subprocess.Popen(
            [BINARIES["nmoe-coordinator"], "--data-dir", os.path.join(tmp.name, "db"), "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--insecure-no-auth", "--port-file", os.path.join(tmp.name, "ports"),
             "--heartbeat-interval", "0.5", "--lease-ttl", "3"], stdout=coord_log, stderr=subprocess.STDOUT))
        grpc_port, coord_metrics = wait_for(lambda: read_ports(os.path.join(tmp.name, "ports")), 20, "coordinator")
        address = f"127.0.0.1:{grpc_port}"
        # Prometheus starts now as its start-up overlaps the workers'; it scrapes the
        # coordinator, and the workers once their ports are known (file_sd).
        prom_port = free_port()
        worker_targets = os.path.join(tmp.name, "worker-targets.json")
        with open(worker_targets, "w") as fh:
            fh.write("[]")
        cfg = {"global": {"scrape_interval": "500ms", "evaluation_interval": "500ms"},
               "rule_files": [os.path.join(DEPLOY, "prometheus", "alerts.yml")],
               "scrape_configs": [
                   {"job_name": "nmoe-coordinator", "static_configs": [
                       {"targets": [f"127.0.0.1:{coord_metrics}"], "labels": {"component": "coordinator"}}]},
                   {"job_name": "nmoe-worker", "file_sd_configs": [{"files": [worker_targets]}]}]}
        with open(os.path.join(tmp.name, "prometheus.yml"), "w") as fh:
            yaml.safe_dump(cfg, fh)
        prom_log = open(os.path.join(tmp.name, "prometheus.log"), "w")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={tmp.name}/prometheus.yml", f"--storage.tsdb.path={tmp.name}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            stdout=prom_log, stderr=subprocess.STDOUT))

        worker_logs = [os.path.join(tmp.name, f"worker-{n}.log") for n in ("a", "b")]
        workers = []
        for n, log_path in zip(("a", "b"), worker_logs):
            procs.append(subprocess.Popen(
                [BINARIES["nmoe-worker"], "--coordinator", address, "--threads", "1", "--work-dir", tmp.name,
                 "--name", f"deploy-check-{n}", "--report-interval", "0.2", "--metrics-port", "0"],
                stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                env=dict(os.environ, OMP_WAIT_POLICY="passive")))
            workers.append(procs[-1])

        def logs():
            return "".join(f"--- {os.path.basename(p)}:\n{open(p).read()[-1500:]}\n" for p in worker_logs)

        def submit(text, name, *extra):
            path = os.path.join(tmp.name, f"{name}.yaml")
            with open(path, "w") as fh:
                fh.write(text)
            r = nmoectl(address, "submit", "-f", path, *extra)
            if not c.expect(r.returncode == 0 and r.stdout.strip().startswith("job-"),
                            f"submitted {name}: {r.stdout}{r.stderr}"):
                raise SystemExit(c.finish())  # exits; `finally` stops the processes
            return r.stdout.strip()

        def state(job_id):
            r = nmoectl(address, "get", job_id, "-o", "json")
            try:
                return json.loads(r.stdout).get("state", "")
            except ValueError:
                return ""

        def wait_state(job_id, want, timeout, what):
            def done():
                s = state(job_id)
                return s if s in want or s in ("JOB_STATE_FAILED", "JOB_STATE_CANCELLED",
                                               "JOB_STATE_SUCCEEDED") else None
            try:
                s = wait_for(done, timeout, what, interval=0.3)
            except TimeoutError:
                s = state(job_id)
            c.expect(s in want, f"{what}: {job_id} is {s}, not {want}\n{logs()}")
            return s in want

        # 2. A job that fails (its profile does not exist), one cancelled, a NOT_FOUND.
        failing = submit(ALLOCATE_MISSING, "failing")
        c.expect(nmoectl(address, "get", "job-00000000000000000000").returncode != 0, "a NOT_FOUND call")
        base = submit(PRETRAIN, "pretrain")

        def worker_ports():
            ports = [re.search(r"metrics on port (\d+)", open(p).read()) for p in worker_logs]
            return [int(m.group(1)) for m in ports] if all(ports) else None

        wait_for(lambda: worker_ports() or any(w.poll() is not None for w in workers), 60, "the workers' start-up")
        wports = worker_ports()
        phases.append(("workers started", time.time() - t0))
        if not c.expect(wports, "both nmoe-workers serve /metrics: " + logs()):
            raise SystemExit(c.finish())
        with open(worker_targets + ".tmp", "w") as fh:
            json.dump([{"targets": [f"127.0.0.1:{p}" for p in wports], "labels": {"component": "worker"}}], fh)
        os.replace(worker_targets + ".tmp", worker_targets)
        cancelled = submit(ALLOCATE_MISSING, "to-cancel", "--name", "to-cancel")
        nmoectl(address, "cancel", cancelled)
        wait_state(failing, {"JOB_STATE_FAILED"}, 60, "the job without a profile failed")
        phases.append(("job failed", time.time() - t0))

        # 3. Pretrain -> allocation -> train and profile at the same time.
        if not wait_state(base, {"JOB_STATE_SUCCEEDED"}, 120, "the tiny pretrain"):
            raise SystemExit(c.finish())
        phases.append(("pretrained", time.time() - t0))
        plan = submit(ALLOCATE, "allocate")
        if not wait_state(plan, {"JOB_STATE_SUCCEEDED"}, 60, "the manual allocation"):
            raise SystemExit(c.finish())
        train = submit(train_job("plan-" + plan[len("job-"):]), "train")  # allocate_task.h PlanIdForJob
        profile = submit(PROFILE, "profile")

        def task_series_in_prometheus():
            got = [prom_query(prom_port, f'count_over_time({n}{{job_id="{j}"}}[1m])')
                   for n, j in (("nmoe_train_step", train), ("nmoe_profile_sentences_done", profile))]
            return all(len(finite_values(r)) > 0 and min(finite_values(r)) >= 2 for r in got)
        try:
            wait_for(task_series_in_prometheus, 90, "Prometheus to scrape the train and profile tasks", interval=0.3)
        except TimeoutError:
            c.expect(False, f"the train and profile tasks' series reach Prometheus:\n{logs()}")
            raise SystemExit(c.finish())
        phases.append(("tasks scraped", time.time() - t0))

        # 4. While both run: real scrapes, names, and every query.
        coord_names = scrape(coord_metrics)
        worker_names = set().union(*(scrape(p) for p in wports))
        real = coord_names | worker_names
        for who, names in (("nmoe-coordinator", coord_names), ("nmoe-workers", worker_names)):
            print(f"scraped {who}: {sorted(n for n in names if n.startswith('nmoe_'))}")
        for src, expr, _ in qs:
            for n in names_in(expr) - BUILTIN:
                c.expect(n in real, f"{src}: {n} is scraped from the running daemons")

        nmoectl(address, "list")  # more calls, so the RPC rates see increases
        nmoectl(address, "get", "job-00000000000000000000")
        # An alert's condition is false on a healthy run, but each series it selects
        # must exist (a wrong label value would make the rule silently never fire).
        checked = [(src, expr, kind) for src, expr, kind in qs] + \
            [(f"{src} selects", sel, "selector") for src, expr, kind in qs if kind == "alert"
             for sel in selectors_in(expr)]
        deadline = time.time() + 30
        while True:
            empty, broken = [], []
            for src, expr, kind in checked:
                e = expr.replace("$job_id", ".*").replace("$layer", ".*")
                r = prom_query(prom_port, e)
                if r.get("status") != "success":
                    broken.append(f"{src}: Prometheus runs {e!r}: {r.get('error')}")
                elif kind != "alert" and not finite_values(r):
                    empty.append(f"{src}: {e} -> {r['data']['result'][:3]}")
            if broken or not empty or time.time() > deadline:
                break
            time.sleep(0.5)
        for b in broken:
            c.expect(False, b)
        c.expect(not empty, "every dashboard panel and variable query, and every series an alert rule selects, "
                 f"returns a finite value; empty: {empty}")
        phases.append(("queries evaluated", time.time() - t0))
        progress = {n: finite_values(prom_query(prom_port, n))
                    for n in ("nmoe_train_step", "nmoe_profile_sentences_done", "nmoe_profile_sentences")}
        print(f"while queried: {progress}")
        for job_id, what in ((train, "the MoE train job"), (profile, "the profile job")):
            s = state(job_id)
            c.expect(s == "JOB_STATE_RUNNING", f"{what} still runs after the queries ({s}): the data is live")
            nmoectl(address, "cancel", job_id)
        wait_state(train, {"JOB_STATE_CANCELLED"}, 30, "the train job cancelled")
        wait_state(profile, {"JOB_STATE_CANCELLED"}, 30, "the profile job cancelled")

        def task_series_left():
            names = set().union(*(scrape(p) for p in wports))
            return sorted(n for n in names if n.startswith(TASK_METRICS))
        try:
            wait_for(lambda: not task_series_left(), 10, "the task series to go")
        except TimeoutError:
            pass
        c.expect(not task_series_left(), f"the cancelled tasks' series are removed: {task_series_left()}")
        phases.append(("cancelled", time.time() - t0))

        # 5. The alert rules run on the server: the job that failed for real fires
        # NmoeJobFailed (no `for`); the healthy coordinator fires no NmoeCoordinatorDown.
        def firing(name):
            r = prom_query(prom_port, f'ALERTS{{alertname="{name}", alertstate="firing"}}')
            return r.get("status") == "success" and r["data"]["result"]
        try:
            wait_for(lambda: firing("NmoeJobFailed"), 10, "NmoeJobFailed")
        except TimeoutError:
            pass
        c.expect(firing("NmoeJobFailed"), "NmoeJobFailed fires for the job that failed")
        r = prom_query(prom_port, 'ALERTS{alertname="NmoeCoordinatorDown"}')
        c.expect(r.get("status") == "success" and not r["data"]["result"], "NmoeCoordinatorDown stays silent")

        # 6. Documentation of every exported metric.
        exported = {re.sub(r"_(bucket|sum|count)$", "", n) for n in real if n.startswith("nmoe_")} | set(registered)
        for n in sorted(exported):
            c.expect(n in metrics_doc, f"{n} is documented in docs/metrics.md")
        print("timeline: " + ", ".join(f"{w} {t:.1f} s" for w, t in phases))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        tmp.cleanup()
    c.finish()


if __name__ == "__main__":
    main()
