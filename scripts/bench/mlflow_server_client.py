"""The client side of the server benchmark: MLflow's own Python client against a tracking server
(ours or MLflow's), timed around the calls alone.

    python mlflow_server_client.py log <tracking_uri> <points> <batch>
        One run, `points` metric points sent with log_batch, `batch` at a time (at most 1000).
        Prints {"seconds": s, "points": n}.
    python mlflow_server_client.py search <tracking_uri> <experiment_ids,comma> <filter> <order_by> <max_results> <repeats>
        One search_runs untimed (the server's first), then `repeats` timed.
        Prints {"first": s, "times": [s, ...], "ids": [...]}.
"""

import json
import sys
import time
import uuid

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

T0 = 1_700_000_000_000


def log(uri, points, batch):
    points, batch = int(points), int(batch)
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(f"bench-{uuid.uuid4().hex}")
    run_id = client.create_run(experiment_id).info.run_id
    metrics = [Metric(f"m{i % 10}", i * 0.001, T0 + i, i // 10) for i in range(points)]
    started = time.perf_counter()
    for at in range(0, points, batch):
        client.log_batch(run_id, metrics=metrics[at : at + batch])
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "points": points}))


def search(uri, experiment_ids, filter_string, order_by, max_results, repeats):
    client = MlflowClient(tracking_uri=uri)
    ids = experiment_ids.split(",")
    query = dict(filter_string=filter_string, order_by=[order_by], max_results=int(max_results))
    started = time.perf_counter()
    runs = client.search_runs(ids, **query)
    first = time.perf_counter() - started
    times = []
    for _ in range(int(repeats)):
        started = time.perf_counter()
        runs = client.search_runs(ids, **query)
        times.append(time.perf_counter() - started)
    print(json.dumps({"first": first, "times": times, "ids": [r.info.run_id for r in runs]}))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"log": log, "search": search}[mode](*args)
