"""A warm Python for the tests: imports MLflow once (seconds of CPU), then runs each script it is
sent in a fresh fork of itself, so that a script starts in milliseconds and still shares no state
with the scripts before it (MLflow keeps per-process caches, such as artifact repositories by
run id).

    python python_forks.py

Reads jobs from stdin, one JSON object a line, and runs them at once, each in its own fork:

    {"id": 1, "script": "/path/x.py", "args": ["a"], "cwd": "/dir", "env": {...}, "input": "..."}

As each ends, prints one JSON object a line:

    {"id": 1, "code": 0, "signal": null, "stdout": "...", "stderr": "..."}

The script runs as `python script args...` would run it: `__name__ == "__main__"`, `sys.argv`,
its folder first on `sys.path`, the job's environment, working directory and standard input.
Closing stdin kills the jobs still running and ends the server.
"""

import json
import os
import runpy
import selectors
import signal
import sys
import tempfile
import traceback

for module in (
    "mlflow",
    "mlflow.cli",
    "mlflow.entities",
    "mlflow.store.tracking.file_store",
    "mlflow.store.tracking.rest_store",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.file_store",
):
    try:
        __import__(module)
    except Exception:  # a venv without MLflow (or an older one) still runs scripts
        pass

BASE_PATH = list(sys.path[1:])


def run(job):
    """In the fork: become `python <script> <args...>` and exit with its status."""
    status = 0
    try:
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        script = job["script"]
        sys.argv = [script, *job["args"]]
        sys.path[:] = [os.path.dirname(os.path.abspath(script)), *BASE_PATH]
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        if isinstance(exit.code, int):
            status = exit.code
        elif exit.code is not None:
            print(exit.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def start(job, selector):
    files = [tempfile.TemporaryFile() for _ in range(3)]
    stdin, stdout, stderr = files
    stdin.write(job.get("input", "").encode("utf-8"))
    stdin.seek(0)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        for fd, file in enumerate(files):
            os.dup2(file.fileno(), fd)
        run(job)
    selector.register(os.pidfd_open(pid), selectors.EVENT_READ, (job["id"], pid, stdout, stderr))


def finish(key, selector):
    job_id, pid, stdout, stderr = key.data
    selector.unregister(key.fd)
    os.close(key.fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    result = {"id": job_id, "code": code if code >= 0 else None, "signal": -code if code < 0 else None}
    for name, file in (("stdout", stdout), ("stderr", stderr)):
        file.seek(0)
        result[name] = file.read().decode("utf-8", "replace")
        file.close()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def serve():
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, None)
    pending = b""
    reading = True
    while reading or len(selector.get_map()) > 0:
        for key, _ in selector.select():
            if key.data is not None:
                finish(key, selector)
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:  # the test process is gone: so is whatever it was waiting for
                selector.unregister(0)
                reading = False
                for other in list(selector.get_map().values()):
                    os.kill(other.data[1], signal.SIGKILL)
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    start(json.loads(line), selector)


if __name__ == "__main__":
    serve()
