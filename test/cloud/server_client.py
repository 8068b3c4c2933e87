"""MLflow's own client, unmodified, logging to `mlruns server` over a tree whose experiment keeps
its artifacts in a bucket. This process has no credentials for the bucket: every byte has to go
through the server's artifact proxy. `EXPERIMENT WORKDIR` runs a session and prints, as JSON,
what it read back: URIs as the client saw them, the files it downloaded (SHA-256 by path) and
the registered model's prediction."""
import hashlib
import json
import os
import sys

import mlflow
import pandas as pd
from mlflow import MlflowClient


class AddOne(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input + 1


def digests(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, folder).replace(os.sep, "/")] = digest
    return found


def main():
    experiment, work = sys.argv[1], sys.argv[2]
    outputs = os.path.join(work, "outputs")
    os.makedirs(os.path.join(outputs, "sub"), exist_ok=True)
    with open(os.path.join(work, "notes.txt"), "w") as handle:
        handle.write("a file")
    with open(os.path.join(outputs, "sub", "conf.json"), "w") as handle:
        handle.write('{"a": 1}')

    client = MlflowClient()
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_param("lr", "0.1")
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_artifact(os.path.join(work, "notes.txt"))
        mlflow.log_artifacts(outputs, "outputs")
        mlflow.log_text("hello bucket", "text/hello.txt")
        model = mlflow.pyfunc.log_model(name="model", python_model=AddOne())
    version = mlflow.register_model(model.model_uri, "bucketed-model")

    run_id = run.info.run_id
    listed = [f.path for f in client.list_artifacts(run_id)]
    run_files = digests(mlflow.artifacts.download_artifacts(
        run_id=run_id, dst_path=os.path.join(work, "run")))
    version_uri = f"models:/bucketed-model/{version.version}"
    model_files = digests(mlflow.artifacts.download_artifacts(
        version_uri, dst_path=os.path.join(work, "model")))
    loaded = mlflow.pyfunc.load_model(version_uri)
    prediction = loaded.predict(pd.DataFrame({"x": [1.0, 2.0]}))["x"].tolist()
    print(json.dumps({
        "run_id": run_id,
        "experiment_id": run.info.experiment_id,
        "run_artifact_uri": client.get_run(run_id).info.artifact_uri,
        "experiment_location": client.get_experiment(run.info.experiment_id).artifact_location,
        "model_id": model.model_id,
        "model_artifact_location": client.get_logged_model(model.model_id).artifact_location,
        "download_uri": client.get_model_version_download_uri("bucketed-model", version.version),
        "listed": sorted(listed),
        "run_files": run_files,
        "model_files": sorted(model_files),
        "prediction": prediction,
    }))


main()
