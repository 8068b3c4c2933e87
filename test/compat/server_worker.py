"""Small jobs for MLflow's Python client against a tracking server (MLFLOW_TRACKING_URI).

    python server_worker.py log <experiment id> <worker> <shared run id> <points>
        One of several concurrent writers: its own run (params, tags, metrics one by one and in
        batches, an artifact) and its own keys in a shared run. Prints its run id.
    python server_worker.py tiny <experiment name>
        One run with a param, a metric and an artifact (for auth checks). Prints its run id.
    python server_worker.py write-file-store <tree> <experiment id> <run name>
        Another process writing to the tree directly, through MLflow's own file store.
    python server_worker.py prompts <name>
        MLflow 3's prompt registry: two versions, an alias, loads and a search. Prints JSON.
"""

import json
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import logging  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.ERROR)

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

T0 = 1_700_000_000_000


def log(experiment_id, worker, shared_run_id, points):
    worker, points = int(worker), int(points)
    client = MlflowClient()
    run = client.create_run(experiment_id, run_name=f"worker-{worker}")
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params=[Param(f"p{i}", f"{worker}-{i}") for i in range(20)],
        tags=[RunTag(f"t{i}", str(worker)) for i in range(10)],
    )
    for step in range(points // 2):
        client.log_metric(run_id, "one", step * 0.5, timestamp=T0 + step, step=step)
    batch = [Metric("batch", float(step), T0 + step, step) for step in range(points // 2)]
    for at in range(0, len(batch), 100):
        client.log_batch(run_id, metrics=batch[at : at + 100])
    shared = [Metric(f"w{worker}", float(step), T0 + step, step) for step in range(points)]
    for at in range(0, len(shared), 50):
        client.log_batch(shared_run_id, metrics=shared[at : at + 50])
        client.log_metric(shared_run_id, "all", float(worker), timestamp=T0 + at, step=worker * 1000 + at)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"worker-{worker}.txt")
        with open(path, "w") as f:
            f.write(f"written by worker {worker}\n" * 100)
        client.log_artifact(run_id, path, "outputs")
    client.set_terminated(run_id)
    print(run_id)


def tiny(experiment_name):
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.log_metric("m", 2.0)
        mlflow.log_text("hi", "hi.txt")
    print(run.info.run_id)


def write_file_store(tree, experiment_id, run_name):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    client = MlflowClient(tracking_uri=f"file://{tree}")
    run = client.create_run(experiment_id, run_name=run_name)
    client.log_param(run.info.run_id, "writer", "mlflow-file-store")
    client.log_metric(run.info.run_id, "m", 1.5)
    client.set_terminated(run.info.run_id)
    print(run.info.run_id)


def prompts(name):
    mlflow.genai.register_prompt(name=name, template="Hello {{who}}", commit_message="first")
    second = mlflow.genai.register_prompt(name=name, template="Hi {{who}}!")
    mlflow.genai.set_prompt_alias(name, alias="prod", version=1)
    print(json.dumps({
        "version": second.version,
        "prod": mlflow.genai.load_prompt(f"prompts:/{name}@prod").format(who="a"),
        "latest": mlflow.genai.load_prompt(f"prompts:/{name}/2").format(who="b"),
        "found": [p.name for p in mlflow.genai.search_prompts()],
    }))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    jobs = {"log": log, "tiny": tiny, "write-file-store": write_file_store, "prompts": prompts}
    jobs[mode](*args)
