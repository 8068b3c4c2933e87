"""Real MLflow as the judge of search_runs, for test/compat/search.test.ts.

Usage (inside a venv with MLflow; set MLFLOW_ALLOW_FILE_STORE=true for file stores):

  search_oracle.py TRACKING_URI            stdin: JSON list of cases, or
                                           {"experimentIds": [...], "cases": [...]}
                                           stdout: one result per case, in order:
                                             {"runs": [ids of page 1], "hasNext": bool,
                                              "all": [ids of every page]}
                                             or {"error": {"code": ..., "message": ...}}
  search_oracle.py --dump TRACKING_URI     stdout: every run (ALL view) as our Run JSON
  search_oracle.py --build ROOT_DIR        stdin: a TreeSpec (search-tree.ts); writes it with
                                           MLflow's own FileStore under ROOT_DIR

A case is {"filter", "orderBy"?, "maxResults"?, "viewType"?}. Without experimentIds, every
experiment of the store (deleted included) is searched.
"""

import json
import math
import sys

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

VIEW_TYPES = {
    "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "DELETED_ONLY": ViewType.DELETED_ONLY,
    "ALL": ViewType.ALL,
}


def json_number(x):
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def from_json_number(x):
    return float(x) if isinstance(x, str) else x


def error_result(exc):
    if isinstance(exc, MlflowException):
        return {"error": {"code": exc.error_code, "message": exc.message}}
    return {"error": {"code": "PYTHON_" + type(exc).__name__, "message": str(exc)}}


def run_case(client, experiment_ids, case):
    view = VIEW_TYPES[case.get("viewType") or "ACTIVE_ONLY"]
    max_results = case.get("maxResults", 1000)
    order_by = case.get("orderBy") or None
    try:
        page = client.search_runs(
            experiment_ids,
            filter_string=case.get("filter", ""),
            run_view_type=view,
            max_results=max_results,
            order_by=order_by,
        )
        first = [r.info.run_id for r in page]
        every = list(first)
        token = page.token
        has_next = bool(token)
        while token:
            page = client.search_runs(
                experiment_ids,
                filter_string=case.get("filter", ""),
                run_view_type=view,
                max_results=max_results,
                order_by=order_by,
                page_token=token,
            )
            every.extend(r.info.run_id for r in page)
            token = page.token
        return {"runs": first, "hasNext": has_next, "all": every}
    except Exception as exc:  # the error is the answer
        return error_result(exc)


def run_to_json(run):
    info = run.info
    return {
        "info": {
            "runId": info.run_id,
            "experimentId": info.experiment_id,
            "runName": info.run_name,
            "userId": info.user_id,
            "status": info.status,
            "startTime": info.start_time,
            "endTime": info.end_time,
            "artifactUri": info.artifact_uri,
            "lifecycleStage": info.lifecycle_stage,
        },
        "data": {
            "params": dict(run.data.params),
            "tags": dict(run.data.tags),
            "metrics": {
                m.key: {
                    "key": m.key,
                    "value": json_number(m.value),
                    "timestamp": m.timestamp,
                    "step": m.step,
                }
                for m in run.data._metric_objs
            },
        },
        "inputs": [
            {
                "dataset": {
                    "name": d.dataset.name,
                    "digest": d.dataset.digest,
                    "sourceType": d.dataset.source_type,
                    "source": d.dataset.source,
                    "schema": d.dataset.schema,
                    "profile": d.dataset.profile,
                },
                "tags": {t.key: t.value for t in d.tags},
            }
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ],
    }


def all_experiment_ids(client):
    return [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]


def build(root, spec):
    client = MlflowClient(tracking_uri=root)
    exp_ids = [
        client.create_experiment(e["name"], tags=e.get("tags") or None) for e in spec["experiments"]
    ]
    for r in spec["runs"]:
        run = client.create_run(
            exp_ids[r["experiment"]],
            start_time=r["startTime"],
            tags={"mlflow.user": r["user"], **r["tags"]},
            run_name=r["runName"],
        )
        run_id = run.info.run_id
        metrics = [
            Metric(key, from_json_number(v), r["startTime"] + step, step)
            for key, history in r["metrics"].items()
            for step, v in enumerate(history)
        ]
        params = [Param(k, v) for k, v in r["params"].items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        if r["datasets"]:
            inputs = []
            for d in r["datasets"]:
                tags = [InputTag("mlflow.data.context", d["context"])] if d.get("context") else []
                ds = Dataset(d["name"], d["digest"], "local", "file:///data/" + d["name"])
                inputs.append(DatasetInput(ds, tags))
            client.log_inputs(run_id, inputs)
        if r.get("end"):
            client.set_terminated(run_id, r["end"]["status"], r["end"]["endTime"])
        if r.get("deleted"):
            client.delete_run(run_id)
    # The user id MLflow records comes from the environment; set it as the spec says.
    return exp_ids


def main(argv):
    if argv[1:2] == ["--build"]:
        build(argv[2], json.load(sys.stdin))
        return
    if argv[1:2] == ["--dump"]:
        client = MlflowClient(tracking_uri=argv[2])
        runs = client.search_runs(
            all_experiment_ids(client), run_view_type=ViewType.ALL, max_results=50000
        )
        json.dump([run_to_json(r) for r in runs], sys.stdout)
        return
    client = MlflowClient(tracking_uri=argv[1])
    payload = json.load(sys.stdin)
    if isinstance(payload, dict):
        experiment_ids = payload.get("experimentIds") or all_experiment_ids(client)
        cases = payload["cases"]
    else:
        experiment_ids = all_experiment_ids(client)
        cases = payload
    json.dump([run_case(client, experiment_ids, c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
