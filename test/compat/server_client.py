"""One training session through MLflow's own Python client, against any tracking server.

    MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python server_client.py <transcript.json>

Run unmodified against `mlruns server` and against MLflow's `mlflow server` over a file store
(MLflow 3.x and 2.x): it exercises experiments, runs (nested, ended in each status, deleted and
restored), params, metrics at steps (NaN and infinities included), tags, notes, artifacts (a file,
a directory, text, a dict), a dataset input, a pyfunc model logged and registered, aliases,
stages and the registry client, searches with filters, order and pages, and metric histories.
It writes, as JSON, what the client read back, with nothing that differs between servers (no
ids, no times): the test compares it between the two servers, and the trees they leave through
MLflow's file-store reader.
"""

import json
import math
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import logging  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.ERROR)

import mlflow  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

MLFLOW_3 = int(mlflow.__version__.split(".")[0]) >= 3
T0 = 1_700_000_000_000


def num(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return x


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n


def log_model(name, n, registered):
    kwargs = {"python_model": AddN(n), "registered_model_name": registered}
    if MLFLOW_3:
        return mlflow.pyfunc.log_model(name=name, **kwargs)
    return mlflow.pyfunc.log_model(artifact_path=name, **kwargs)


def main():
    out = {}
    client = MlflowClient()
    experiment = mlflow.set_experiment("server-session")
    client.set_experiment_tag(experiment.experiment_id, "team", "vision")

    # An experiment renamed, deleted and restored.
    spare = client.create_experiment("spare", tags={"kind": "scratch"})
    client.rename_experiment(spare, "spare-renamed")
    client.delete_experiment(spare)
    client.restore_experiment(spare)
    out["spare"] = client.get_experiment(spare).name

    work = tempfile.mkdtemp()
    with open(os.path.join(work, "notes.txt"), "w") as f:
        f.write("hello from the session\n")
    os.makedirs(os.path.join(work, "plots", "deep"))
    with open(os.path.join(work, "plots", "loss.csv"), "w") as f:
        f.write("step,loss\n0,1.0\n1,0.5\n")
    with open(os.path.join(work, "plots", "deep", "empty.txt"), "w") as f:
        pass

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="data/train.csv", name="train", targets="y")

    with mlflow.start_run(run_name="parent", description="the parent run") as parent:
        mlflow.log_params({"lr": 0.01, "layers": [64, 32], "optimizer": "adam"})
        mlflow.log_param("seed", 42)
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=T0 + step)
        mlflow.log_metrics({"acc": 0.75, "nan": float("nan"), "inf": float("inf")}, step=9)
        mlflow.set_tags({"stage": "train", "unicode": "héllo ✓"})
        mlflow.set_tag("to-delete", "x")
        client.delete_tag(parent.info.run_id, "to-delete")
        mlflow.log_artifact(os.path.join(work, "notes.txt"))
        mlflow.log_artifacts(os.path.join(work, "plots"), "plots")
        mlflow.log_text("some text", "texts/a.txt")
        mlflow.log_dict({"k": [1, 2]}, "config.json")
        mlflow.log_input(dataset, context="training")
        info = log_model("model", 1, "session-model")
        for lr in (0.1, 0.2):
            with mlflow.start_run(run_name=f"child-{lr}", nested=True):
                mlflow.log_param("lr", lr)
                mlflow.log_metric("loss", lr * 2, step=0)
    out["model_uri_scheme"] = info.model_uri.split(":")[0]

    # Runs ended in each status, one deleted and restored, one left deleted.
    for status in ("FAILED", "KILLED"):
        run = client.create_run(experiment.experiment_id, run_name=f"ended-{status}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", float(i), T0 + i, i) for i in range(3)],
            params=[Param("p", status)],
            tags=[RunTag("t", status.lower())],
        )
        client.set_terminated(run.info.run_id, status=status)
    restored = client.create_run(experiment.experiment_id, run_name="restored")
    client.delete_run(restored.info.run_id)
    client.restore_run(restored.info.run_id)
    client.set_terminated(restored.info.run_id)
    gone = client.create_run(experiment.experiment_id, run_name="gone")
    client.delete_run(gone.info.run_id)

    # Reading back: a run, histories, artifacts, searches with filters, order and pages.
    got = client.get_run(parent.info.run_id)
    out["parent"] = {
        "params": dict(got.data.params),
        "metrics": {k: num(v) for k, v in got.data.metrics.items()},
        "tags": {k: v for k, v in got.data.tags.items() if k in ("stage", "unicode")},
        "status": got.info.status,
        "inputs": [
            [i.dataset.name, i.dataset.digest, {t.key: t.value for t in i.tags}]
            for i in got.inputs.dataset_inputs
        ],
    }
    out["history"] = [
        [m.step, num(m.value), m.timestamp - T0]
        for m in client.get_metric_history(parent.info.run_id, "loss")
    ]
    out["artifacts"] = sorted(
        [f.path, f.is_dir, f.file_size] for f in client.list_artifacts(parent.info.run_id)
    )
    out["plots"] = sorted(
        [f.path, f.is_dir, f.file_size]
        for f in client.list_artifacts(parent.info.run_id, "plots")
    )
    local = client.download_artifacts(parent.info.run_id, "plots", tempfile.mkdtemp())
    with open(os.path.join(local, "loss.csv")) as f:
        out["downloaded"] = f.read()
    out["search_filter"] = sorted(
        r.info.run_name
        for r in client.search_runs(
            [experiment.experiment_id], "params.lr LIKE '0.%' AND metrics.loss < 0.5"
        )
    )
    pages = []
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            order_by=["attributes.run_name ASC"],
            max_results=2,
            page_token=token,
        )
        pages.append([r.info.run_name for r in page])
        token = page.token
        if not token:
            break
    out["pages"] = pages
    frame = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["metrics.loss DESC"],
    )
    out["search_frame"] = list(frame["tags.mlflow.runName"])
    out["deleted_view"] = sorted(
        r.info.run_name
        for r in client.search_runs([experiment.experiment_id], run_view_type=2)
    )

    # The registry: the version just registered, aliases, stages, tags, descriptions.
    client.set_registered_model_alias("session-model", "champion", "1")
    client.set_registered_model_tag("session-model", "owner", "team-a")
    client.update_registered_model("session-model", description="adds one")
    client.set_model_version_tag("session-model", "1", "quality", "good")
    client.update_model_version("session-model", "1", description="first")
    client.transition_model_version_stage("session-model", "1", "Staging")
    champion = client.get_model_version_by_alias("session-model", "champion")
    model = mlflow.pyfunc.load_model("models:/session-model@champion")
    out["prediction"] = list(model.predict(pd.DataFrame({"x": [1, 2]}))["x"])
    out["champion"] = [champion.version, champion.current_stage, dict(champion.tags)]
    out["latest"] = [
        [v.version, v.current_stage] for v in client.get_latest_versions("session-model")
    ]
    client.create_registered_model("other-model", tags={"k": "v"}, description="unused")
    client.set_registered_model_alias("session-model", "old", "1")
    client.delete_registered_model_alias("session-model", "old")
    out["models"] = sorted(m.name for m in client.search_registered_models("name LIKE '%model'"))
    out["versions"] = [
        [v.name, v.version]
        for v in client.search_model_versions("name = 'session-model' AND tags.quality = 'good'")
    ]
    out["download_uri_scheme"] = client.get_model_version_download_uri(
        "session-model", "1"
    ).split(":")[0]
    if MLFLOW_3:
        found = mlflow.search_logged_models(
            experiment_ids=[experiment.experiment_id], output_format="list"
        )
        out["logged_models"] = [[m.name, str(m.status)] for m in found]
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, sort_keys=True)


if __name__ == "__main__":
    main()
