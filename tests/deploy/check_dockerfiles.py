#!/usr/bin/python3
"""Checks deploy/docker without building an image (no Docker in CI):

- every Dockerfile is multi-stage: a Debian 12 build stage that runs
  scripts/install-deps.sh and builds with CMake + Ninja, and a Debian 12 runtime
  stage that runs as a non-root USER (after its last RUN) with a HEALTHCHECK;
- each binary copied from the build stage is an nmoe_executable() target of the
  folder it is copied from, and the build stage's ninja command builds it;
- the ENTRYPOINT is a copied binary and the CMD's flags are ones the built daemon
  lists in --help;
- CPU images: every shared library that the binary built here (NMOE_BUILD_DIR)
  loads belongs to a Debian package that the runtime stage installs, or to the
  dependency closure of those packages and of the base image's essential/required
  packages (from dpkg's database on this Debian 12 machine, which built it).
"""
import glob
import os
import re
import shlex

import yaml

from deploy_support import BINARIES, BUILD, DEPLOY, SOURCE, Checks, arg_flags, flags_of, run

DOCKER = os.path.join(DEPLOY, "docker")


def parse(path):
    """Dockerfile -> list of stages {from, name, instructions: [(op, text)]}."""
    text = open(path).read()
    lines, cur = [], ""
    for raw in text.split("\n"):
        if raw.lstrip().startswith("#") and not cur:
            continue
        if raw.rstrip().endswith("\\"):
            cur += raw.rstrip()[:-1] + " "
            continue
        cur += raw
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stages = []
    for line in lines:
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = rest.split()
            stages.append({"from": parts[0], "name": parts[2] if len(parts) > 2 else None, "ins": []})
        elif stages:
            stages[-1]["ins"].append((op, rest.strip()))
    return stages


def exec_form(text):
    return eval(text) if text.startswith("[") else shlex.split(text)  # JSON arrays are Python lists


def executables():
    """{(folder, target)} of nmoe_executable(...) in the source tree's CMakeLists."""
    found = set()
    for cm in glob.glob(os.path.join(SOURCE, "*", "CMakeLists.txt")):
        for name in re.findall(r"nmoe_executable\(\s*([\w-]+)", open(cm).read()):
            found.add((os.path.basename(os.path.dirname(cm)), name))
    return found


def installed_packages():
    """{package: [[alternatives...] per dependency]}, {virtual: [providers]}, base set."""
    out = run(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Essential}\t${Priority}\t${Pre-Depends}, "
               "${Depends}\t${Provides}\n"]).stdout
    deps, provides, base = {}, {}, set()
    for line in out.splitlines():
        name, status, essential, priority, depends, prov = line.split("\t")
        if not status.endswith("installed") or "not-installed" in status:
            continue
        alts = []
        for d in depends.split(","):
            d = d.strip()
            if d:
                alts.append([re.split(r"[\s(:]", a.strip())[0] for a in d.split("|")])
        deps[name] = alts
        for p in prov.split(","):
            p = re.split(r"[\s(]", p.strip())[0]
            if p:
                provides.setdefault(p, []).append(name)
        if essential == "yes" or priority == "required":
            base.add(name)
    return deps, provides, base


def closure(roots, deps, provides):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alts in deps.get(p, []):
            cands = [a for a in alts if a in deps] + [q for a in alts for q in provides.get(a, [])]
            if cands:
                todo.append(cands[0])
    return seen


def file_owners():
    """{path: package} of every file that dpkg installed (from /var/lib/dpkg/info/*.list)."""
    owners = {}
    for lst in glob.glob("/var/lib/dpkg/info/*.list"):
        pkg = os.path.basename(lst)[:-len(".list")].split(":")[0]
        with open(lst, errors="replace") as fh:
            for line in fh:
                owners[line.rstrip("\n")] = pkg
    return owners


def library_packages(binary, owners):
    """{library path: Debian package owning it, or None} for what ldd says `binary` loads."""
    libs = [l.split("=>")[1].split()[0] for l in run(["ldd", binary]).stdout.splitlines()
            if "=>" in l and "/" in l.split("=>")[1]]
    result = {}
    for lib in libs:
        real = os.path.realpath(lib)
        cands = [lib, real] + [("/usr" + x) for x in (lib, real) if not x.startswith("/usr")]
        result[lib] = next((owners[x] for x in cands if x in owners), None)
    return result


def main():
    c = Checks("deploy_dockerfiles")
    targets = executables()
    deps, provides, base = installed_packages()
    base_closure = closure(base | {"apt"}, deps, provides)
    owners_index = file_owners()
    files = sorted(glob.glob(os.path.join(DOCKER, "Dockerfile.*")))
    c.expect(len(files) >= 3, f"three Dockerfiles (coordinator, worker, worker-gpu): {files}")
    for path in files:
        f = os.path.basename(path)
        stages = parse(path)
        if not c.expect(len(stages) >= 2, f"{f}: multi-stage"):
            continue
        build, rt = stages[0], stages[-1]
        c.expect(re.fullmatch(r"debian:(12|bookworm)(-slim)?", build["from"] or "") is not None,
                 f"{f}: build stage is Debian 12 ({build['from']})")
        c.expect(re.fullmatch(r"debian:(12|bookworm)(-slim)?", rt["from"] or "") is not None,
                 f"{f}: runtime stage is Debian 12 ({rt['from']})")
        runs = " ".join(t for op, t in build["ins"] if op == "RUN")
        c.expect("/src/scripts/install-deps.sh" in runs, f"{f}: build stage uses scripts/install-deps.sh")
        c.expect(os.path.exists(os.path.join(SOURCE, "scripts", "install-deps.sh")), "scripts/install-deps.sh exists")
        m = re.search(r"ninja -C /build ([\w\- ]+)", runs)
        built = set(m.group(1).split()) if m else set()
        gpu = "gpu" in f
        c.expect(("-DNMOE_GPU=ON" in runs) == gpu, f"{f}: NMOE_GPU=ON exactly in the GPU variant")

        # Runtime: non-root user after the last RUN, healthcheck, binaries.
        ops = [op for op, _ in rt["ins"]]
        users = [t for op, t in rt["ins"] if op == "USER"]
        c.expect(users and users[-1].split(":")[0] not in ("root", "0"), f"{f}: runtime USER is non-root ({users})")
        last_run = max((i for i, op in enumerate(ops) if op == "RUN"), default=-1)
        c.expect(users and ops.index("USER") > last_run, f"{f}: USER comes after the last RUN")
        c.expect("HEALTHCHECK" in ops, f"{f}: HEALTHCHECK")
        # The manifests run the images as the same uid (their volumes are owned by it).
        uid = users[-1].split(":")[0] if users else "?"
        for sts in glob.glob(os.path.join(DEPLOY, "k8s", "base", "*-statefulset.yaml")):
            run_as = yaml.safe_load(open(sts))["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            c.expect(str(run_as) == uid, f"{f}: USER {uid} = runAsUser of {os.path.basename(sts)}")
        copied = {}
        for op, t in rt["ins"]:
            if op == "COPY" and t.startswith(f"--from={build['name']} /build/"):
                src, dst = t.split()[1:3]
                folder, target = src[len("/build/"):].split("/")
                copied[dst] = target
                c.expect((folder, target) in targets, f"{f}: {src} is the nmoe_executable {target} of {folder}/")
                c.expect(target in built, f"{f}: the build stage builds {target} ({sorted(built)})")
        entry = exec_form(next(t for op, t in rt["ins"] if op == "ENTRYPOINT"))
        daemon = copied.get(entry[0])
        if c.expect(daemon in BINARIES, f"{f}: ENTRYPOINT {entry[0]} is a copied daemon"):
            cmd = exec_form(next(t for op, t in rt["ins"] if op == "CMD"))
            for flag in arg_flags(cmd):
                c.expect(flag in flags_of(daemon), f"{f}: {daemon} accepts CMD flag {flag}")

        if gpu:
            continue  # its CUDA/LibTorch libraries are not on this machine: documented, not checked
        apt = " ".join(t for op, t in rt["ins"] if op == "RUN")
        m = re.search(r"apt-get install -y --no-install-recommends ([\w.+\- ]+?)(?:&&|$)", apt)
        pkgs = set(m.group(1).split()) if m else set()
        for p in sorted(pkgs):
            c.expect(p in deps, f"{f}: runtime package {p} is a Debian 12 package (installed here)")
        have = closure(pkgs, deps, provides) | base_closure
        for dst, target in copied.items():
            binary = os.path.join(BUILD, "coordinator" if target == "nmoe-coordinator" else
                                  "cli" if target == "nmoectl" else "worker", target)
            if not c.expect(os.path.exists(binary), f"{f}: {binary} is built"):
                continue
            owners = library_packages(binary, owners_index)
            missing = sorted({f"{lib} ({p})" for lib, p in owners.items() if p not in have})
            c.expect(not missing, f"{f}: the runtime stage provides every library {target} loads; missing: {missing}")
            print(f"{f}: {target} loads {len(owners)} libraries from {len(set(owners.values()))} packages")
    c.finish()


if __name__ == "__main__":
    main()
