#!/usr/bin/python3
"""The coordinator's public API used from Python, against a real nmoe-coordinator.

Stubs are generated at test time from proto/ (grpc_tools.protoc, or Debian's
protoc + grpc_python_plugin when grpc_tools is too old: see generate_stubs), so
the test proves that the .proto files alone are enough for a Python client.

Run by ctest (label `integration`) with NMOE_BUILD_DIR and NMOE_SOURCE_DIR set;
by hand:
  NMOE_BUILD_DIR=build NMOE_SOURCE_DIR=. /usr/bin/python3 tests/python/test_python_client.py

Must run under Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools).
The tests are ordered (test_NN_...): the last one stops the server with SIGTERM.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from importlib import resources

import grpc

CALL_TIMEOUT_S = 10
TOKEN = "python-client-test-token"
PROTOS = ["job_spec", "job", "jobs_service", "worker_service", "results_service", "info_service"]


def _die_with_parent():
    """preexec_fn: the kernel SIGKILLs the server if this test process dies (even by SIGKILL)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _protoc_version(command):
    out = subprocess.run(command + ["--version"], capture_output=True, text=True).stdout.split()
    try:
        return tuple(int(x) for x in out[-1].split("."))
    except (IndexError, ValueError):
        return (0,)


def generate_stubs(source_dir, out_dir):
    """Compiles proto/nmoe/v1/*.proto into out_dir and makes it importable.

    grpc_tools.protoc is used when its bundled protoc knows proto3 `optional`
    (3.15+). Debian 12's python3-grpc-tools is 1.14 and bundles protoc 3.5.1,
    which rejects job_spec.proto; then Debian's own protoc (3.21, the version of
    python3-protobuf) with grpc_python_plugin (protobuf-compiler-grpc) is used.
    """
    proto_dir = os.path.join(source_dir, "proto")
    well_known = str(resources.files("grpc_tools") / "_proto")  # google/protobuf/timestamp.proto
    files = [os.path.join(proto_dir, "nmoe", "v1", name + ".proto") for name in PROTOS]
    args = ["-I" + proto_dir, "-I" + well_known, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir]
    grpc_tools = [sys.executable, "-m", "grpc_tools.protoc"]
    plugin = shutil.which("grpc_python_plugin")
    if _protoc_version(grpc_tools) >= (3, 15) or not (shutil.which("protoc") and plugin):
        command = grpc_tools + args
    else:
        command = ["protoc", "--plugin=protoc-gen-grpc_python=" + plugin] + args
    result = subprocess.run(command + files, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(command[:3]), result.stderr))
    sys.path.insert(0, out_dir)


def wait_for_port_file(path, process, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nmoe-coordinator exited with %d before serving" % process.returncode)
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().split()
            if lines and int(lines[0]) > 0:
                return int(lines[0])
        time.sleep(0.05)
    raise RuntimeError("nmoe-coordinator did not write its port file within %ds" % timeout_s)


class Watch:
    """WatchJob consumed on a background thread: events, and how the stream ended."""

    def __init__(self, stub, metadata, job_id, include_progress=False):
        self.events = []
        self.code = None  # grpc.StatusCode once the stream ended
        self.details = ""
        self.first_event = threading.Event()
        self.done = threading.Event()
        self._call = stub.WatchJob(
            jobs_service_pb2.WatchJobRequest(job_id=job_id, include_progress=include_progress),
            metadata=metadata, timeout=60)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for event in self._call:
                self.events.append(event)
                self.first_event.set()
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code, self.details = e.code(), e.details()
        finally:
            self.first_event.set()
            self.done.set()

    def wait(self, timeout_s=20):
        if not self.done.wait(timeout_s):
            self._call.cancel()
            raise AssertionError("WatchJob stream did not end within %ds" % timeout_s)

    def states(self):
        return [e.state_change.to for e in self.events if e.WhichOneof("event") == "state_change"]

    def cancel(self):
        self._call.cancel()


class PythonClientTest(unittest.TestCase):
    server = None
    server_log = ""

    @classmethod
    def setUpClass(cls):
        build_dir = os.environ.get("NMOE_BUILD_DIR")
        source_dir = os.environ.get("NMOE_SOURCE_DIR")
        if not build_dir or not source_dir:
            raise RuntimeError("set NMOE_BUILD_DIR and NMOE_SOURCE_DIR")
        binary = os.path.join(build_dir, "coordinator", "nmoe-coordinator")
        if not os.access(binary, os.X_OK):
            raise RuntimeError("no coordinator binary at " + binary)

        cls.tmp = tempfile.TemporaryDirectory(prefix="nmoe-pytest-")
        cls.addClassCleanup(cls.tmp.cleanup)
        stubs = os.path.join(cls.tmp.name, "stubs")
        os.mkdir(stubs)
        generate_stubs(source_dir, stubs)
        global job_pb2, job_spec_pb2, jobs_service_pb2, jobs_service_pb2_grpc
        global worker_service_pb2, worker_service_pb2_grpc, info_service_pb2, info_service_pb2_grpc
        from nmoe.v1 import job_pb2, job_spec_pb2, jobs_service_pb2, jobs_service_pb2_grpc  # noqa: E402
        from nmoe.v1 import worker_service_pb2, worker_service_pb2_grpc  # noqa: E402
        from nmoe.v1 import info_service_pb2, info_service_pb2_grpc  # noqa: E402

        token_file = os.path.join(cls.tmp.name, "tokens")
        with open(token_file, "w") as f:
            f.write("some-other-token\n" + TOKEN + "\n")
        port_file = os.path.join(cls.tmp.name, "port")
        cls.log_path = os.path.join(cls.tmp.name, "coordinator.log")
        cls.log_file = open(cls.log_path, "w")
        cls.addClassCleanup(cls.log_file.close)
        cls.server = subprocess.Popen(
            [binary, "--data-dir", os.path.join(cls.tmp.name, "data"), "--listen", "127.0.0.1:0",
             "--port-file", port_file, "--token-file", token_file,
             "--heartbeat-interval", "1", "--lease-ttl", "30"],
            stdout=cls.log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        cls.addClassCleanup(cls._kill_server)  # runs even when setUpClass fails below
        port = wait_for_port_file(port_file, cls.server)

        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        cls.addClassCleanup(cls.channel.close)
        grpc.channel_ready_future(cls.channel).result(timeout=CALL_TIMEOUT_S)
        cls.jobs = jobs_service_pb2_grpc.JobServiceStub(cls.channel)
        cls.workers = worker_service_pb2_grpc.WorkerServiceStub(cls.channel)
        cls.info = info_service_pb2_grpc.InfoServiceStub(cls.channel)
        cls.auth = (("authorization", "Bearer " + TOKEN),)

    @classmethod
    def _kill_server(cls):
        if cls.server is not None and cls.server.poll() is None:
            cls.server.kill()
            cls.server.wait(timeout=10)
        try:
            with open(cls.log_path) as f:
                cls.server_log = f.read()
        except OSError:
            pass

    # ---- helpers ----

    @staticmethod
    def profile_spec(name, device=None):
        spec = job_spec_pb2.JobSpec(name=name)
        spec.profile.model.path = "/models/tiny"
        for lang in ("en", "el"):
            spec.profile.corpora.add(language=lang, paths=["/corpus/%s.txt" % lang])
        spec.profile.top_n = 100
        if device is not None:
            spec.resources.device = device
        return spec

    def submit(self, spec, key="", metadata=None):
        return self.jobs.SubmitJob(jobs_service_pb2.SubmitJobRequest(spec=spec, idempotency_key=key),
                                   metadata=self.auth if metadata is None else metadata, timeout=CALL_TIMEOUT_S)

    def assert_rpc_error(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, timeout=CALL_TIMEOUT_S, **kwargs)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        return raised.exception.details()

    # ---- tests, in order ----

    def test_01_server_info(self):
        info = self.info.GetServerInfo(info_service_pb2.GetServerInfoRequest(), metadata=self.auth,
                                       timeout=CALL_TIMEOUT_S)
        self.assertTrue(info.auth_required)
        self.assertFalse(info.tls)
        self.assertTrue(info.version)

    def test_02_auth_is_required(self):
        request = jobs_service_pb2.ListJobsRequest()
        self.assert_rpc_error(grpc.StatusCode.UNAUTHENTICATED, self.jobs.ListJobs, request)
        self.assert_rpc_error(grpc.StatusCode.UNAUTHENTICATED, self.jobs.ListJobs, request,
                              metadata=(("authorization", "Bearer wrong-token"),))
        self.assert_rpc_error(grpc.StatusCode.UNAUTHENTICATED, self.jobs.ListJobs, request,
                              metadata=(("authorization", TOKEN),))  # no "Bearer " scheme
        self.assert_rpc_error(grpc.StatusCode.UNAUTHENTICATED, self.jobs.SubmitJob,
                              jobs_service_pb2.SubmitJobRequest(spec=self.profile_spec("no-auth")),
                              metadata=(("authorization", "Bearer wrong-token"),))
        self.assert_rpc_error(grpc.StatusCode.UNAUTHENTICATED, self.workers.RegisterWorker,
                              worker_service_pb2.RegisterWorkerRequest())
        watch = Watch(self.jobs, (), "job-none")
        watch.wait()
        self.assertEqual(watch.code, grpc.StatusCode.UNAUTHENTICATED)
        # Nothing was created by the refused submission.
        listed = self.jobs.ListJobs(request, metadata=self.auth, timeout=CALL_TIMEOUT_S)
        self.assertEqual([j.spec.name for j in listed.jobs if j.spec.name == "no-auth"], [])

    def test_03_invalid_spec_names_the_field(self):
        spec = self.profile_spec("bad")
        spec.profile.lape_top_fraction = 2.0
        details = self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, self.jobs.SubmitJob,
                                        jobs_service_pb2.SubmitJobRequest(spec=spec), metadata=self.auth)
        self.assertIn("spec.profile.lape_top_fraction", details)

        spec = self.profile_spec("bad")
        del spec.profile.corpora[1]
        details = self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, self.jobs.SubmitJob,
                                        jobs_service_pb2.SubmitJobRequest(spec=spec), metadata=self.auth)
        self.assertIn("spec.profile.corpora", details)

        details = self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, self.jobs.SubmitJob,
                                        jobs_service_pb2.SubmitJobRequest(), metadata=self.auth)
        self.assertIn("spec", details)

    def test_04_submit_is_idempotent_then_cancel_ends_the_watch(self):
        spec = self.profile_spec("python-profile")
        first = self.submit(spec, key="py-test-1")
        self.assertTrue(first.created)
        self.assertTrue(first.job.id.startswith("job-"), first.job.id)
        self.assertEqual(first.job.state, job_pb2.JOB_STATE_PENDING)
        self.assertEqual(first.job.kind, job_pb2.JOB_KIND_PROFILE)
        again = self.submit(spec, key="py-test-1")
        self.assertFalse(again.created)
        self.assertEqual(again.job.id, first.job.id)
        # The same key with another spec is refused, naming the field.
        details = self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, self.jobs.SubmitJob,
                                        jobs_service_pb2.SubmitJobRequest(spec=self.profile_spec("other"),
                                                                          idempotency_key="py-test-1"),
                                        metadata=self.auth)
        self.assertIn("idempotency_key", details)

        listed = self.jobs.ListJobs(jobs_service_pb2.ListJobsRequest(), metadata=self.auth, timeout=CALL_TIMEOUT_S)
        self.assertEqual([j.id for j in listed.jobs].count(first.job.id), 1)
        pending = self.jobs.ListJobs(jobs_service_pb2.ListJobsRequest(states=[job_pb2.JOB_STATE_PENDING],
                                                                      kinds=[job_pb2.JOB_KIND_PROFILE]),
                                     metadata=self.auth, timeout=CALL_TIMEOUT_S)
        self.assertIn(first.job.id, [j.id for j in pending.jobs])
        self.assertEqual(self.jobs.GetJob(jobs_service_pb2.GetJobRequest(job_id=first.job.id),
                                          metadata=self.auth, timeout=CALL_TIMEOUT_S).spec, spec)
        self.assert_rpc_error(grpc.StatusCode.NOT_FOUND, self.jobs.GetJob,
                              jobs_service_pb2.GetJobRequest(job_id="job-00000000000000000000"), metadata=self.auth)

        watch = Watch(self.jobs, self.auth, first.job.id)
        try:
            self.assertTrue(watch.first_event.wait(CALL_TIMEOUT_S), "no event from WatchJob")
            self.assertEqual(watch.states(), [job_pb2.JOB_STATE_PENDING], (watch.code, watch.details))
            cancelled = self.jobs.CancelJob(jobs_service_pb2.CancelJobRequest(job_id=first.job.id, reason="test"),
                                            metadata=self.auth, timeout=CALL_TIMEOUT_S)
            self.assertEqual(cancelled.state, job_pb2.JOB_STATE_CANCELLED)
            watch.wait()
        finally:
            watch.cancel()
        self.assertEqual(watch.code, grpc.StatusCode.OK, watch.details)
        self.assertEqual(watch.states(), [job_pb2.JOB_STATE_PENDING, job_pb2.JOB_STATE_CANCELLED])
        self.assertEqual([e.seq for e in watch.events], list(range(1, len(watch.events) + 1)))
        # Cancelling again is not an error.
        self.jobs.CancelJob(jobs_service_pb2.CancelJobRequest(job_id=first.job.id), metadata=self.auth,
                            timeout=CALL_TIMEOUT_S)

    def test_05_worker_runs_a_job_to_success(self):
        # CUDA job and worker: the worker cannot pick up any other test's CPU job.
        device = job_spec_pb2.DEVICE_KIND_CUDA
        submitted = self.submit(self.profile_spec("python-worker-flow", device=device), key="py-test-2")
        job_id = submitted.job.id
        watch = Watch(self.jobs, self.auth, job_id, include_progress=True)
        try:
            self.assertTrue(watch.first_event.wait(CALL_TIMEOUT_S), "no event from WatchJob")
            caps = worker_service_pb2.WorkerCapabilities(device=device, threads=2, hostname="py-test",
                                                         version="test")
            reg = self.workers.RegisterWorker(worker_service_pb2.RegisterWorkerRequest(capabilities=caps),
                                              metadata=self.auth, timeout=CALL_TIMEOUT_S)
            self.assertTrue(reg.worker_id.startswith("worker-"), reg.worker_id)
            self.assertEqual(reg.heartbeat_interval_ms, 1000)
            self.assertEqual(reg.lease_ttl_ms, 30000)
            wid = reg.worker_id
            hb = self.workers.Heartbeat(worker_service_pb2.HeartbeatRequest(worker_id=wid), metadata=self.auth,
                                        timeout=CALL_TIMEOUT_S)
            self.assertEqual(list(hb.revoked_task_ids), [])

            lease = self.workers.LeaseTask(worker_service_pb2.LeaseTaskRequest(worker_id=wid), metadata=self.auth,
                                           timeout=CALL_TIMEOUT_S)
            self.assertTrue(lease.HasField("task"))
            task = lease.task
            self.assertEqual((task.job_id, task.attempt, task.rank, task.world_size), (job_id, 1, 0, 1))
            self.assertEqual(task.id, "%s/a1/r0" % job_id)
            self.assertEqual(task.spec.name, "python-worker-flow")
            # The worker holds one task: a second lease is refused.
            self.assert_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, self.workers.LeaseTask,
                                  worker_service_pb2.LeaseTaskRequest(worker_id=wid), metadata=self.auth)

            hb = self.workers.Heartbeat(worker_service_pb2.HeartbeatRequest(worker_id=wid, task_ids=[task.id]),
                                        metadata=self.auth, timeout=CALL_TIMEOUT_S)
            self.assertEqual(list(hb.revoked_task_ids), [])
            progress = job_pb2.Progress(stage="profile", done=5, total=10, unit="sentences", rate_per_second=2.5)
            progress.metrics["coverage"] = 0.5
            report = self.workers.ReportProgress(
                worker_service_pb2.ReportProgressRequest(
                    worker_id=wid, task_id=task.id, progress=progress,
                    logs=[job_pb2.LogLine(level=job_pb2.LOG_LEVEL_INFO, text="halfway")]),
                metadata=self.auth, timeout=CALL_TIMEOUT_S)
            self.assertFalse(report.cancel)
            running = self.jobs.GetJob(jobs_service_pb2.GetJobRequest(job_id=job_id), metadata=self.auth,
                                       timeout=CALL_TIMEOUT_S)
            self.assertEqual(running.state, job_pb2.JOB_STATE_RUNNING)
            self.assertEqual(running.progress.done, 5)
            self.assertEqual(list(running.worker_ids), [wid])
            workers = self.workers.ListWorkers(worker_service_pb2.ListWorkersRequest(), metadata=self.auth,
                                               timeout=CALL_TIMEOUT_S)
            mine = [w for w in workers.workers if w.id == wid]
            self.assertEqual(len(mine), 1)
            self.assertEqual((mine[0].state, mine[0].task_id), (worker_service_pb2.WORKER_STATE_BUSY, task.id))

            self.workers.CompleteTask(worker_service_pb2.CompleteTaskRequest(worker_id=wid, task_id=task.id,
                                                                             message="done"),
                                      metadata=self.auth, timeout=CALL_TIMEOUT_S)
            watch.wait()
        finally:
            watch.cancel()
        self.assertEqual(watch.code, grpc.StatusCode.OK, watch.details)
        self.assertEqual(watch.states(), [job_pb2.JOB_STATE_PENDING, job_pb2.JOB_STATE_SCHEDULED,
                                          job_pb2.JOB_STATE_RUNNING, job_pb2.JOB_STATE_SUCCEEDED])
        kinds = [e.WhichOneof("event") for e in watch.events]
        self.assertIn("progress", kinds)
        self.assertLess(kinds.index("progress"), len(kinds) - 1)  # before the terminal event
        reported = [e.progress for e in watch.events if e.WhichOneof("event") == "progress"][0]
        self.assertEqual((reported.stage, reported.done, reported.total), ("profile", 5, 10))
        self.assertAlmostEqual(reported.metrics["coverage"], 0.5)
        logs = [e.log for e in watch.events if e.WhichOneof("event") == "log"]
        self.assertEqual([(l.text, l.worker_id) for l in logs], [("halfway", wid)])
        self.assertEqual([e.seq for e in watch.events], list(range(1, len(watch.events) + 1)))

        done = self.jobs.GetJob(jobs_service_pb2.GetJobRequest(job_id=job_id), metadata=self.auth,
                                timeout=CALL_TIMEOUT_S)
        self.assertEqual(done.state, job_pb2.JOB_STATE_SUCCEEDED)
        self.assertEqual(list(done.completed_ranks), [0])
        self.assertTrue(done.HasField("end_time"))
        events = self.jobs.ListJobEvents(jobs_service_pb2.ListJobEventsRequest(job_id=job_id), metadata=self.auth,
                                         timeout=CALL_TIMEOUT_S)
        self.assertEqual(len(events.events), len(watch.events))
        self.workers.DeregisterWorker(worker_service_pb2.DeregisterWorkerRequest(worker_id=wid), metadata=self.auth,
                                      timeout=CALL_TIMEOUT_S)

    def test_99_sigterm_exits_cleanly(self):
        self.assertIsNone(self.server.poll(), "coordinator died during the tests")
        self.server.send_signal(signal.SIGTERM)
        try:
            code = self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("coordinator did not exit within 30 s of SIGTERM")
        self.assertEqual(code, 0)


def _on_sigterm(*_):
    """ctest's timeout sends SIGTERM: kill the server, drop the folder, exit at once."""
    PythonClientTest._kill_server()
    tmp = getattr(PythonClientTest, "tmp", None)
    if tmp is not None:
        tmp.cleanup()
    sys.stderr.write("test_python_client: SIGTERM; server killed\n")
    os._exit(124)


def main():
    signal.signal(signal.SIGTERM, _on_sigterm)
    result = unittest.main(exit=False, verbosity=2).result
    if not result.wasSuccessful():
        log = PythonClientTest.server_log
        if log:
            sys.stderr.write("---- nmoe-coordinator log (last 4000 bytes) ----\n" + log[-4000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
