"""The MLflow side of `npm run bench`: the same work through MLflow's own file store.

    python mlflow_bench.py log-metric <tree> <points>
    python mlflow_bench.py log-batch <tree> <points> <batch_size>

Prints {"points": n, "seconds": s} measured around the logging calls only.
"""

import json
import sys
import time

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient


def main():
    mode, tree, points = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = MlflowClient(tracking_uri=tree)
    run_id = client.create_run("0").info.run_id
    now = int(time.time() * 1000)
    started = time.perf_counter()
    if mode == "log-metric":
        for i in range(points):
            client.log_metric(run_id, "loss", 1.0 / (i + 1), timestamp=now + i, step=i)
    elif mode == "log-batch":
        size = int(sys.argv[4])
        for offset in range(0, points, size):
            batch = [Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(offset, min(offset + size, points))]
            client.log_batch(run_id, metrics=batch)
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - started
    print(json.dumps({"points": points, "seconds": seconds}))


main()
