"""MLflow's own artifact repository for a URI uploading one file; prints the seconds it took
(the interpreter's start and MLflow's import are not counted)."""
import json
import sys
import time

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

repository = get_artifact_repository(sys.argv[1])
start = time.perf_counter()
repository.log_artifact(sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - start}))
