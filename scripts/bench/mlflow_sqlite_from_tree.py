"""Loads an mlruns tree into a new SQLite database of MLflow's schema, fast, for the benchmarks.

    python mlflow_sqlite_from_tree.py <tree root> <database path>

MLflow's own SqlAlchemyStore creates the empty schema (every migration, the default experiment);
then the tree's experiments, runs, params, tags, metric histories and latest metrics go in with
executemany inside one transaction, the rows MLflow's SQL store keeps for the same calls.
`mlflow migrate-filestore` does the same one entity at a time and takes hours at 100,000 runs.
Prints {"seconds": s, "runs": n}.
"""

import json
import math
import os
import pathlib
import sqlite3
import sys
import time

import yaml
from mlflow.entities import RunStatus, SourceType
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BATCH = 2000


def meta(folder):
    with open(os.path.join(folder, "meta.yaml")) as f:
        return yaml.load(f, Loader=Loader)


def key_files(folder):
    """(key, text) of each file under `folder`, keys with / for nested files, as MLflow's are."""
    out = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path) as f:
                out.append((os.path.relpath(path, folder).replace(os.sep, "/"), f.read()))
    return out


def metric_rows(run_id, folder):
    """(history rows, latest rows): the latest point of a key is the greatest (step, ts, value)."""
    history, latest = [], []
    for key, text in key_files(folder):
        best = None
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            ts, value, step = int(parts[0]), float(parts[1]), int(parts[2]) if len(parts) > 2 else 0
            is_nan = math.isnan(value)
            stored = 0.0 if is_nan else value
            history.append((key, stored, ts, run_id, step, is_nan))
            point = (step, ts, stored, is_nan)
            if best is None or point > best:
                best = point
        if best is not None:
            step, ts, value, is_nan = best
            latest.append((key, value, ts, step, is_nan, run_id))
    return history, latest


def main(root, db):
    started = time.perf_counter()
    SqlAlchemyStore(f"sqlite:///{db}", pathlib.Path(root).resolve().as_uri()).engine.dispose()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA journal_mode = MEMORY")
    con.execute("BEGIN")
    tables = {name: [] for name in ("runs", "params", "tags", "metrics", "latest_metrics")}
    insert = {
        "runs": "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
        " user_id, status, start_time, end_time, deleted_time, source_version, lifecycle_stage,"
        " artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "params": "INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)",
        "tags": "INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)",
        "metrics": "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
        " VALUES (?,?,?,?,?,?)",
        "latest_metrics": "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan,"
        " run_uuid) VALUES (?,?,?,?,?,?)",
    }

    def flush():
        for name, rows in tables.items():
            con.executemany(insert[name], rows)
            rows.clear()

    runs = 0
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if not entry.is_dir() or not entry.name.isdigit():
            continue
        exp = meta(entry.path)
        if exp["experiment_id"] != "0":
            con.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                " creation_time, last_update_time) VALUES (?,?,?,?,?,?)",
                (
                    int(exp["experiment_id"]),
                    exp["name"],
                    exp["artifact_location"],
                    exp["lifecycle_stage"],
                    exp.get("creation_time"),
                    exp.get("last_update_time"),
                ),
            )
        for key, value in key_files(os.path.join(entry.path, "tags")):
            con.execute(
                "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?,?,?)",
                (key, value, int(exp["experiment_id"])),
            )
        for run in os.scandir(entry.path):
            if not run.is_dir() or not os.path.exists(os.path.join(run.path, "meta.yaml")):
                continue
            info = meta(run.path)
            run_id = info["run_id"]
            tables["runs"].append(
                (
                    run_id,
                    info.get("run_name") or "",
                    SourceType.to_string(info["source_type"]),
                    info.get("source_name") or "",
                    info.get("entry_point_name") or "",
                    info.get("user_id") or "",
                    RunStatus.to_string(info["status"]),
                    info.get("start_time"),
                    info.get("end_time"),
                    info.get("deleted_time"),
                    info.get("source_version") or "",
                    info["lifecycle_stage"],
                    info["artifact_uri"],
                    int(info["experiment_id"]),
                )
            )
            for key, value in key_files(os.path.join(run.path, "params")):
                tables["params"].append((key, value, run_id))
            for key, value in key_files(os.path.join(run.path, "tags")):
                tables["tags"].append((key, value, run_id))
            history, latest = metric_rows(run_id, os.path.join(run.path, "metrics"))
            tables["metrics"].extend(history)
            tables["latest_metrics"].extend(latest)
            runs += 1
            if runs % BATCH == 0:
                flush()
            if runs % 10_000 == 0:
                print(f"  {runs} runs ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    flush()
    con.execute("COMMIT")
    con.close()
    print(json.dumps({"seconds": time.perf_counter() - started, "runs": runs}))


if __name__ == "__main__":
    main(*sys.argv[1:])
