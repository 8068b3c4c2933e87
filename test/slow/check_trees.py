"""Reads many mlruns trees with the real MLflow, the way a user would browse them.

    python check_trees.py <tree> [<tree> ...]

For each tree: every experiment (all view types), every run of each (all view types) through
search_runs, get_run, and get_metric_history of each metric, and the artifact list. Prints one
JSON object per tree: {"tree", "ok", "experiments", "runs", "error"}.
"""

import json
import sys

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient


def check(tree):
    client = MlflowClient(tracking_uri=tree)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=50000) if ids else []
    for run in runs:
        full = client.get_run(run.info.run_id)
        for key in full.data.metrics:
            client.get_metric_history(run.info.run_id, key)
        client.list_artifacts(run.info.run_id)
    return len(experiments), len(runs)


for tree in sys.argv[1:]:
    try:
        experiments, runs = check(tree)
        result = {"tree": tree, "ok": True, "experiments": experiments, "runs": runs}
    except Exception as error:  # report every failure, keep checking the other trees
        result = {"tree": tree, "ok": False, "error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result), flush=True)
