#!/usr/bin/python3
"""Checks that the dashboards (deploy/grafana) and alert rules (deploy/prometheus)
name only metrics that nmoe exports, and that their PromQL runs on a real
Prometheus server scraping a real nmoe-coordinator (and nmoe-worker).

1. Starts nmoe-coordinator (loopback, port 0) and one nmoe-worker with
   --metrics-port 0 against it, makes a job fail (an allocation whose profile does
   not exist, max_restarts 0), cancels another, and provokes a NOT_FOUND RPC, so
   counters with labels exist.
2. Scrapes both /metrics endpoints.
3. Every metric a query names must be scraped for real, or be registered in the
   worker-side sources (task metrics, e.g. trainer/train_metrics.cc, exist only
   while such a task runs; nmoe_worker_current_task only while a task runs), or be
   listed in pending_metrics.txt (then also in docs/deploy.md, and not exported
   anywhere: stale entries fail).
4. Runs a Prometheus server (Debian's) on loopback scraping both daemons every 0.5 s
   with deploy/prometheus/alerts.yml loaded, evaluates every dashboard and alert
   expression through its HTTP API (all must parse and run), requires data from
   every dashboard query whose metrics were all scraped for real, and requires
   NmoeJobFailed to fire (for the job that failed) and NmoeCoordinatorDown not to.
5. Every nmoe_* metric exported (scraped or registered) is documented in docs/metrics.md.
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


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
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


def main():
    c = Checks("deploy_metrics")
    qs = queries()
    c.expect(len(qs) > 40, f"found the dashboards' and rules' queries ({len(qs)})")
    check_dashboards(c)
    pending_path = os.path.join(os.path.dirname(__file__), "pending_metrics.txt")
    pending = {l.strip() for l in open(pending_path) if l.strip() and not l.startswith("#")}
    doc = open(os.path.join(SOURCE, "docs", "deploy.md")).read()
    metrics_doc = open(os.path.join(SOURCE, "docs", "metrics.md")).read()
    registered = source_names()

    procs = []
    t0 = time.time()
    phases = []  # (what, seconds since start), printed at the end
    tmp = tempfile.TemporaryDirectory(prefix="nmoe-deploy-metrics-")
    try:
        # 1. A real coordinator and worker.
        coord_log = open(os.path.join(tmp.name, "coordinator.log"), "w")
        procs.append(subprocess.Popen(
            [BINARIES["nmoe-coordinator"], "--data-dir", os.path.join(tmp.name, "db"), "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--insecure-no-auth", "--port-file", os.path.join(tmp.name, "ports"),
             "--heartbeat-interval", "0.5", "--lease-ttl", "3"], stdout=coord_log, stderr=subprocess.STDOUT))
        grpc_port, coord_metrics = wait_for(lambda: read_ports(os.path.join(tmp.name, "ports")), 20, "coordinator")
        address = f"127.0.0.1:{grpc_port}"
        # A Prometheus server, started now as its start-up overlaps the workers'; it
        # scrapes the coordinator, and the worker once its port is known (file_sd).
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

        worker_log_path = os.path.join(tmp.name, "worker.log")

        def start_worker(log_path, *extra):
            procs.append(subprocess.Popen(
                [BINARIES["nmoe-worker"], "--coordinator", address, "--threads", "1", "--work-dir", tmp.name,
                 "--name", "deploy-check", "--report-interval", "0.2", *extra],
                stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                env=dict(os.environ, OMP_WAIT_POLICY="passive")))
        start_worker(worker_log_path, "--metrics-port", "0")
        metrics_worker = procs[-1]

        # A job that fails (its profile does not exist) and one that is cancelled.
        job = os.path.join(tmp.name, "allocate.yaml")
        with open(job, "w") as fh:
            fh.write("name: deploy-check\nmax_restarts: 0\nresources:\n  num_workers: 1\nallocate:\n"
                     "  profile_job_id: job-does-not-exist\n  strategy: ALLOCATION_STRATEGY_UNIFORM\n"
                     "  old_languages: [en]\n  new_languages: [el]\n  uniform_experts: 2\n")
        failing = nmoectl(address, "submit", "-f", job)
        if not c.expect(failing.returncode == 0, f"submitted a job: {failing.stdout}{failing.stderr}"):
            c.finish()  # nothing below can work without nmoectl (exits; `finally` stops the processes)
        c.expect(nmoectl(address, "get", "job-00000000000000000000").returncode != 0, "a NOT_FOUND call")

        def worker_port():
            m = re.search(r"metrics on port (\d+)", open(worker_log_path).read())
            return int(m.group(1)) if m else None

        wait_for(lambda: worker_port() or metrics_worker.poll() is not None, 60, "the worker's start-up")
        wport = worker_port()
        phases.append(("worker started", time.time() - t0))
        if not c.expect(wport, "nmoe-worker serves /metrics: " + open(worker_log_path).read()[-400:]):
            raise SystemExit(c.finish())

        def job_failed():
            return "failed" in nmoectl(address, "get", failing.stdout.strip()).stdout.lower()
        c.expect(wait_for(job_failed, 60, "the job to fail"), "the job failed on the worker")
        phases.append(("job failed", time.time() - t0))
        cancelled = nmoectl(address, "submit", "-f", job, "--name", "to-cancel")
        nmoectl(address, "cancel", cancelled.stdout.strip())

        # 2. Real scrapes.
        coord_names = scrape(coord_metrics)
        worker_names = scrape(wport)
        real = coord_names | worker_names
        for who, names in (("nmoe-coordinator", coord_names), ("nmoe-worker", worker_names)):
            print(f"scraped {who}: {sorted(n for n in names if n.startswith('nmoe_'))}")

        # 3. Names.
        def from_sources(n):
            base = re.sub(r"_(bucket|sum|count)$", "", n)
            return n in registered or base in registered
        used = set()
        for src, expr, _ in qs:
            for n in names_in(expr):
                used.add(n)
                ok = n in real or n in BUILTIN or from_sources(n) or n in pending
                c.expect(ok, f"{src}: {n} is exported (scraped, registered in the sources, or pending)")
        for n in sorted(pending):
            c.expect(n in used, f"pending {n} is still used by a dashboard or rule")
            c.expect(n not in real and not from_sources(n), f"pending {n} is exported now: drop it from the list")
            c.expect(n in doc, f"pending {n} is listed in docs/deploy.md")
        source_only = sorted(n for n in used if n not in real and n not in BUILTIN and n not in pending)
        print(f"checked against the sources only (not scraped in this run): {source_only}")

        # 5. Documentation of every exported metric.
        exported = {re.sub(r"_(bucket|sum|count)$", "", n) for n in real if n.startswith("nmoe_")} | set(registered)
        for n in sorted(exported):
            c.expect(n in metrics_doc, f"{n} is documented in docs/metrics.md")

        # 4. A real Prometheus evaluates every query (started above).
        with open(worker_targets + ".tmp", "w") as fh:
            json.dump([{"targets": [f"127.0.0.1:{wport}"], "labels": {"component": "worker"}}], fh)
        os.replace(worker_targets + ".tmp", worker_targets)
        def scraped_thrice():
            try:
                r = prom_query(prom_port, 'count_over_time(up{component="coordinator"}[1m])')
                return r["data"]["result"] and float(r["data"]["result"][0]["value"][1]) >= 3
            except (OSError, KeyError, ValueError):
                return False
        wait_for(scraped_thrice, 30, "Prometheus to scrape the coordinator three times")

        def worker_scraped():
            r = prom_query(prom_port, 'count_over_time(up{component="worker"}[1m])')
            return r["data"]["result"] and float(r["data"]["result"][0]["value"][1]) >= 3
        wait_for(worker_scraped, 30, "Prometheus to scrape the worker three times")
        phases.append(("Prometheus scraped", time.time() - t0))
        # Counters made before the first scrape: make more calls so rates see increases.
        nmoectl(address, "list")
        nmoectl(address, "get", "job-00000000000000000000")
        time.sleep(1.2)
        empty = []
        for src, expr, kind in qs:
            e = expr.replace("$job_id", ".*").replace("$layer", ".*")
            r = prom_query(prom_port, e)
            if not c.expect(r.get("status") == "success", f"{src}: Prometheus runs {e!r}: {r.get('error')}"):
                continue
            names = names_in(expr) - BUILTIN
            if kind != "alert" and names and names <= real:
                if not r["data"]["result"]:
                    empty.append(f"{src}: {e}")
        c.expect(not empty, f"dashboard queries over scraped metrics return data; empty: {empty}")
        phases.append(("queries evaluated", time.time() - t0))
        print("timeline: " + ", ".join(f"{w} {t:.1f} s" for w, t in phases))
        # The alert rules run on the server: the job that failed for real fires
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
