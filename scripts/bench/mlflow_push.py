"""The Python side of the sync benchmark: the same data pushed with MlflowClient, batched well.

    python mlflow_push.py <tracking_url> <experiment> <runs> <params> <metrics> <steps> <artifact_dir>

Per run: create_run, one log_batch of the params, log_batch of the metric points 1000 at a time,
log_artifacts of a folder, set_terminated. Prints {"runs", "points", "seconds", "started", "ended"}
(the last two in seconds since the epoch, to time several clients pushing at once).
"""

import json
import sys
import time

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def main():
    url, experiment, runs, params, metrics, steps, artifacts = sys.argv[1:8]
    runs, params, metrics, steps = int(runs), int(params), int(metrics), int(steps)
    client = MlflowClient(tracking_uri=url)
    started = time.perf_counter()
    started_at = time.time()
    experiment_id = client.create_experiment(experiment)
    t0 = 1_767_225_600_000
    for r in range(runs):
        run_id = client.create_run(experiment_id, start_time=t0 + r, run_name=f"run-{r}").info.run_id
        client.log_batch(run_id, params=[Param(f"p{i}", f"v{(r + i) % 13}") for i in range(params)])
        points = [
            Metric(f"m{k}", ((r * 7 + k * 13 + s) % 1000) / 1000, t0 + s, s)
            for k in range(metrics)
            for s in range(steps)
        ]
        for offset in range(0, len(points), 1000):
            client.log_batch(run_id, metrics=points[offset : offset + 1000])
        client.log_artifacts(run_id, artifacts)
        client.set_terminated(run_id, "FINISHED", end_time=t0 + steps)
    seconds = time.perf_counter() - started
    result = {"runs": runs, "points": runs * metrics * steps, "seconds": seconds}
    print(json.dumps({**result, "started": started_at, "ended": time.time()}))


main()
