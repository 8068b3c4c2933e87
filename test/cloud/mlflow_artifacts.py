"""MLflow's own client on a run's artifacts: `list RUN` prints every file path (recursively),
`download RUN DIR` downloads them and prints each file's SHA-256. The tracking URI and the
bucket's credentials come from the environment, as for any MLflow user."""
import hashlib
import json
import os
import sys

import mlflow
from mlflow.tracking import MlflowClient


def walk(client, run_id, path=None):
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            yield from walk(client, run_id, info.path)
        else:
            yield info.path


def main():
    command, run_id = sys.argv[1], sys.argv[2]
    if command == "list":
        print(json.dumps(sorted(walk(MlflowClient(), run_id))))
        return
    target = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=sys.argv[3])
    digests = {}
    for root, _, files in os.walk(target):
        for name in files:
            path = os.path.join(root, name)
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digests[os.path.relpath(path, target).replace(os.sep, "/")] = digest.hexdigest()
    print(json.dumps(digests, sort_keys=True))


main()
