#!/usr/bin/python3
"""Checks deploy/k8s: renders the kustomize base and the cpu and gpu overlays with
kubectl kustomize, validates every object against the Kubernetes API schemas
(npm kubernetes-models, through validate_k8s.cjs), lints the YAML (yamllint), and
checks what nmoe relies on: flags that the built daemons accept, gRPC health probes
on the coordinator's gRPC port, the token from the Secret, one coordinator replica
with a volume for RocksDB, stable worker names advertised to gangs, metrics ports
matching the scrape annotations, the NetworkPolicy, GPU requests in the gpu overlay.

Usage (ctest sets the environment): check_k8s.py NPM_DIR
  NPM_DIR: the folder holding node_modules/kubernetes-models (fixture deploy_npm).
"""
import concurrent.futures
import copy
import glob
import json
import os
import sys
import tempfile

import yaml

from deploy_support import DEPLOY, SOURCE, Checks, arg_flags, arg_value, flags_of, run

K8S = os.path.join(DEPLOY, "k8s")
TARGETS = {"base": "base", "cpu": "overlays/cpu", "gpu": "overlays/gpu"}


def render(target):
    out = run(["kubectl", "kustomize", os.path.join(K8S, target)], timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {target} failed: {out.stderr}")
    return out.stdout


def validate(npm_dir, items):
    """Runs the schema validator; returns (exit code, output)."""
    proc = run(["node", os.path.join(os.path.dirname(__file__), "validate_k8s.cjs"), npm_dir],
               input=json.dumps(items), timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    return None


def container(sts):
    return sts["spec"]["template"]["spec"]["containers"][0]


def port_of(c, name):
    for p in c.get("ports", []):
        if p["name"] == name:
            return p["containerPort"]
    return None


def check_common(c, target, objs):
    coord = find(objs, "StatefulSet", "nmoe-coordinator")
    worker = find(objs, "StatefulSet", "nmoe-worker")
    if not c.expect(coord and worker, f"{target}: both StatefulSets rendered"):
        return
    cc, wc = container(coord), container(worker)

    # Flags: every flag in the manifests is one the built daemon lists in --help.
    for binary, cont in (("nmoe-coordinator", cc), ("nmoe-worker", wc)):
        known = flags_of(binary)
        c.expect(cont["command"] == [f"/usr/local/bin/{binary}"], f"{target}: {binary} command")
        for f in arg_flags(cont["args"]):
            c.expect(f in known, f"{target}: {binary} has no flag {f} (its --help lists {sorted(known)})")

    # Coordinator: one replica, RocksDB on the claimed volume, gRPC health probes.
    c.expect(coord["spec"]["replicas"] == 1, f"{target}: exactly one coordinator replica")
    claims = [t["metadata"]["name"] for t in coord["spec"].get("volumeClaimTemplates", [])]
    mounts = {m["name"]: m["mountPath"] for m in cc["volumeMounts"]}
    data_dir = arg_value(cc["args"], "--data-dir") or ""
    c.expect("data" in claims and data_dir.startswith(mounts.get("data", "?") + "/"),
             f"{target}: --data-dir {data_dir} lies on the PVC 'data' ({mounts.get('data')})")
    grpc_port = port_of(cc, "grpc")
    listen = arg_value(cc["args"], "--listen") or ""
    c.expect(listen.endswith(f":{grpc_port}") and not listen.startswith("127."),
             f"{target}: --listen {listen} serves the grpc containerPort {grpc_port} off loopback")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        p = cc.get(probe, {})
        c.expect(p.get("grpc", {}).get("port") == grpc_port,
                 f"{target}: coordinator {probe} is a grpc.health.v1 probe on port {grpc_port}")
    c.expect("resources" in cc and "requests" in cc["resources"] and "limits" in cc["resources"],
             f"{target}: coordinator resources")
    csvc = find(objs, "Service", "nmoe-coordinator")
    c.expect(csvc and any(p["port"] == grpc_port for p in csvc["spec"]["ports"]),
             f"{target}: Service nmoe-coordinator exposes {grpc_port}")
    c.expect(arg_value(wc["args"], "--coordinator") == f"nmoe-coordinator:{grpc_port}",
             f"{target}: workers dial the coordinator Service")

    # Token: both daemons read --token-file from the Secret nmoe-token's mount.
    for name, sts, cont in (("coordinator", coord, cc), ("worker", worker, wc)):
        vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
        secret = vols.get("token", {}).get("secret", {}).get("secretName")
        mount = {m["name"]: m["mountPath"] for m in cont["volumeMounts"]}.get("token", "?")
        token_file = arg_value(cont["args"], "--token-file") or ""
        c.expect(secret == "nmoe-token" and token_file.startswith(mount + "/"),
                 f"{target}: {name} --token-file {token_file} comes from Secret nmoe-token at {mount}")
        sc = sts["spec"]["template"]["spec"].get("securityContext", {})
        c.expect(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{target}: {name} runs as non-root")
        # Scrape annotations name the port the daemon serves metrics on.
        ann = sts["spec"]["template"]["metadata"].get("annotations", {})
        mport = port_of(cont, "metrics")
        c.expect(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(mport),
                 f"{target}: {name} scrape annotations point at metrics port {mport}")
    mlisten = arg_value(cc["args"], "--metrics-listen") or ""
    c.expect(mlisten.endswith(f":{port_of(cc, 'metrics')}"), f"{target}: --metrics-listen {mlisten} = metrics port")
    c.expect(arg_value(wc["args"], "--metrics-port") == str(port_of(wc, "metrics")),
             f"{target}: worker --metrics-port = metrics port")

    # Workers: stable names through the headless Service, advertised to gangs.
    wsvc = find(objs, "Service", worker["spec"]["serviceName"])
    c.expect(wsvc and wsvc["spec"].get("clusterIP") == "None", f"{target}: workers' governing Service is headless")
    adv = arg_value(wc["args"], "--advertise-host") or ""
    env = {e["name"] for e in wc.get("env", [])}
    c.expect(adv.startswith(f"$(POD_NAME).{worker['spec']['serviceName']}.") and {"POD_NAME", "POD_NAMESPACE"} <= env,
             f"{target}: --advertise-host {adv} is the pod's stable DNS name")

    # NetworkPolicy: the coordinator's gRPC port admits workers and labelled clients only.
    np = find(objs, "NetworkPolicy", "nmoe-coordinator")
    if c.expect(np is not None, f"{target}: NetworkPolicy nmoe-coordinator"):
        coord_labels = coord["spec"]["template"]["metadata"]["labels"]
        worker_labels = worker["spec"]["template"]["metadata"]["labels"]
        sel = np["spec"]["podSelector"]["matchLabels"]
        c.expect(all(coord_labels.get(k) == v for k, v in sel.items()), f"{target}: policy selects the coordinator pod")
        c.expect(np["spec"]["policyTypes"] == ["Ingress"], f"{target}: policy restricts ingress")
        grpc_rules = [r for r in np["spec"]["ingress"] if any(p.get("port") == grpc_port for p in r.get("ports", []))]
        peers = [f for r in grpc_rules for f in r["from"]]
        c.expect(all(set(f) == {"podSelector"} for f in peers), f"{target}: gRPC peers are pods of this namespace only")
        sels = [f["podSelector"]["matchLabels"] for f in peers]
        c.expect(any(all(worker_labels.get(k) == v for k, v in s.items()) for s in sels),
                 f"{target}: workers may reach the coordinator")
        c.expect(all(all(worker_labels.get(k) == v for k, v in s.items()) or s == {"nmoe.io/client": "true"}
                     for s in sels), f"{target}: only workers and nmoe.io/client pods reach gRPC")
        c.expect(all(r.get("ports") for r in np["spec"]["ingress"]), f"{target}: every coordinator rule names ports")
    return coord, worker


def main():
    npm_dir = sys.argv[1]
    c = Checks("deploy_k8s")
    # Loading nmoe-worker (LibTorch) for --help takes seconds: ask both daemons
    # while kustomize renders.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    helps = [pool.submit(flags_of, b) for b in ("nmoe-coordinator", "nmoe-worker")]
    renders = {t: pool.submit(render, path) for t, path in TARGETS.items()}
    rendered = {t: f.result() for t, f in renders.items()}
    for h in helps:
        h.result()

    # Schema validation of every rendered object (and the overlays' own patches
    # are covered by rendering).
    items = []
    for target, text in rendered.items():
        for o in yaml.safe_load_all(text):
            if o:
                items.append({"source": target, "object": o})
    # The validator can fail: a known-bad copy (replicas as a string, a probe port
    # as text) goes along and must be the one object rejected.
    bad = copy.deepcopy(next(i for i in items if i["object"]["kind"] == "StatefulSet"))
    bad["source"] = "negative-control"
    bad["object"]["spec"]["replicas"] = "one"
    container(bad["object"])["livenessProbe"] = {"grpc": {"port": "grpc"}}
    code, out = validate(npm_dir, items + [bad])
    print(out, end="")
    invalid = [l for l in out.splitlines() if l.startswith("INVALID")]
    c.expect(len(invalid) == 1 and invalid[0].startswith("INVALID negative-control") and "replicas" in invalid[0],
             "the validator rejects the broken StatefulSet")
    c.expect(code == 1 and all(f"ok {i['source']}: {i['object']['kind']}/{i['object']['metadata']['name']}" in out
                               for i in items),
             f"every rendered object ({len(items)}) validates against the Kubernetes API schemas")

    # YAML lint: sources and rendered overlays.
    lint_cfg = os.path.join(os.path.dirname(__file__), "yamllint.yml")
    files = sorted(glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True) +
                   glob.glob(os.path.join(DEPLOY, "**", "*.yml"), recursive=True) +
                   glob.glob(os.path.join(SOURCE, "tests", "deploy", "*.yml")))
    with tempfile.TemporaryDirectory(prefix="nmoe-deploy-k8s-") as tmp:
        for target, text in rendered.items():
            path = os.path.join(tmp, f"rendered-{target}.yaml")
            with open(path, "w") as fh:
                fh.write(text)
            files.append(path)
        out = run(["yamllint", "-s", "-c", lint_cfg] + files, timeout=60)
    print(out.stdout, end="")
    c.expect(out.returncode == 0, f"yamllint passes on {len(files)} files (sources and rendered overlays)")

    objs = {t: [i["object"] for i in items if i["source"] == t] for t in TARGETS}
    for target in TARGETS:
        check_common(c, target, objs[target])
    for target in ("cpu", "gpu"):
        c.expect(all(o["metadata"].get("namespace") == "nmoe" for o in objs[target]), f"{target}: namespace nmoe")

    cw = container(find(objs["cpu"], "StatefulSet", "nmoe-worker"))
    gw = container(find(objs["gpu"], "StatefulSet", "nmoe-worker"))
    c.expect(arg_value(cw["args"], "--device") == "cpu", "cpu overlay: --device=cpu")
    c.expect("nvidia.com/gpu" not in json.dumps(cw["resources"]), "cpu overlay: no GPU requested")
    c.expect(arg_value(gw["args"], "--device") == "cuda:0", "gpu overlay: --device=cuda:0")
    c.expect(gw["resources"]["limits"].get("nvidia.com/gpu") == 1 and gw["resources"]["requests"].get("nvidia.com/gpu")
             == 1, "gpu overlay: one nvidia.com/gpu per worker")
    c.expect(gw["image"].startswith("nmoe-worker-gpu:"), "gpu overlay: the GPU worker image")
    for target, w in (("cpu", cw), ("gpu", gw)):
        c.expect(arg_value(w["args"], "--threads") == str(w["resources"]["limits"]["cpu"]),
                 f"{target} overlay: worker --threads = its CPU limit")
    c.finish()


if __name__ == "__main__":
    main()
