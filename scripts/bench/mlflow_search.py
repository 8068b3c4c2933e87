"""The MLflow side of the search benchmark: one search_runs through MLflow's own store.

    python mlflow_search.py <tracking_uri> <experiment_ids,comma,separated> <filter> <order_by> <max_results>

Prints {"seconds": s, "ids": [...]} with the time of the search_runs call alone (the client and
store are created before the clock starts; MLflow's file store reads every run inside it).
"""

import json
import sys
import time

from mlflow.tracking import MlflowClient


def main():
    uri, experiment_ids, filter_string, order_by, max_results = sys.argv[1:6]
    client = MlflowClient(tracking_uri=uri)
    client.get_experiment(experiment_ids.split(",")[0])  # opens the store and its connection
    started = time.perf_counter()
    runs = client.search_runs(
        experiment_ids.split(","),
        filter_string=filter_string,
        order_by=[order_by],
        max_results=int(max_results),
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "ids": [r.info.run_id for r in runs]}))


main()
