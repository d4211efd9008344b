"""Shared helpers of the deploy/ checks (run by ctest with /usr/bin/python3).

NMOE_SOURCE_DIR and NMOE_BUILD_DIR come from ctest (tests/deploy/CMakeLists.txt).
A check collects problems with Checks.expect() and exits 1 listing all of them.
"""
import os
import re
import subprocess
import sys

SOURCE = os.environ.get("NMOE_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("NMOE_BUILD_DIR") or os.path.join(SOURCE, "build")
DEPLOY = os.path.join(SOURCE, "deploy")

# Built daemons: "<folder>/<target>" of the build tree.
BINARIES = {
    "nmoe-coordinator": os.path.join(BUILD, "coordinator", "nmoe-coordinator"),
    "nmoe-worker": os.path.join(BUILD, "worker", "nmoe-worker"),
    "nmoectl": os.path.join(BUILD, "cli", "nmoectl"),
}


class Checks:
    """Counts checks and failures; finish() prints the closing line and exits."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = []

    def expect(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"FAIL: {what}", flush=True)
        return condition

    def finish(self):
        print(f"{self.name}: {self.passed} checks passed, {len(self.failed)} failed")
        sys.exit(1 if self.failed else 0)


def run(cmd, **kw):
    """Runs cmd; returns CompletedProcess with text output (never raises on status)."""
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


_flag_cache = {}


def flags_of(binary):
    """Long flags that `binary --help` lists (e.g. {"--data-dir", ...})."""
    if binary not in _flag_cache:
        path = BINARIES[binary]
        out = run([path, "--help"], timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"{path} --help failed: {out.stderr}")
        _flag_cache[binary] = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out.stdout))
    return _flag_cache[binary]


def arg_flags(args):
    """The flag names of an argv list: "--x=1" and "--x 1" both give "--x"."""
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


def arg_value(args, flag):
    """The value of --flag in argv (either form), or None."""
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag and i + 1 < len(args):
            return args[i + 1]
    return None
