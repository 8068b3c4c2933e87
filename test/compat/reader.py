"""The oracle: what the real MLflow reads from a tracking URI, as canonical JSON.

Run inside a venv made by scripts/mlflow-env.sh (any pinned MLflow, 2.x or 3.x):

    python reader.py dump <tracking_uri> [--artifacts | --no-artifacts] [--no-registry]
                                         [--logged-models] [--prefix=<name prefix>]
    python reader.py migrate <mlruns_dir> <sqlite_path>

`dump` reads through the public MlflowClient only. <tracking_uri> is a file-store path or
`file://` URI, or `sqlite:///<path>`. Artifacts are listed by default for file stores and not for
other URIs (a migrated SQLite keeps the file store's artifact URIs; pass --artifacts to list them
anyway). The registry is read from the same URI; --no-registry, or a registry MLflow cannot read,
gives `"registered_models": null`. --prefix=P keeps only the experiments (with their runs) and
registered models whose names start with P: on a server other tests share, what one test wrote.

`migrate` runs what `mlflow migrate-filestore --source <mlruns_dir> --target
sqlite:///<sqlite_path>` runs (MLflow >= 3.10), non-interactively and into a copy of an empty
database at MLflow's schema (built once, in the venv): an existing <sqlite_path> is an error,
never overwritten.

The JSON shape (test/compat/dump.ts builds the same shape from our TrackingStore; keys are
emitted sorted, the lists are sorted as stated):

{
  "experiments": [                          # sorted by experiment_id as an integer
    { "experiment_id": str, "name": str, "lifecycle_stage": "active" | "deleted",
      "artifact_location": str, "creation_time": int | null, "last_update_time": int | null,
      "tags": { str: str } }
  ],
  "runs": [                                 # every view type; sorted by run_id
    { "info": { "run_id": str, "experiment_id": str, "run_name": str, "user_id": str,
                "status": "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED",
                "start_time": int, "end_time": int | null, "artifact_uri": str,
                "lifecycle_stage": "active" | "deleted" },
      "params": { str: str },
      "tags": { str: str },
      "metrics": { key: { "value": num, "timestamp": int, "step": int } },   # latest per key
      "metric_history": { key: [[timestamp, value, step], ...] },           # order as returned
      "inputs": [                           # dataset inputs, sorted by the list [name, digest,
                                            # source_type, source, k1, v1, k2, v2...] (tags by key)
        { "dataset": { "name": str, "digest": str, "source_type": str, "source": str,
                       "schema": str | null, "profile": str | null },
          "tags": { str: str } }
      ],
      "artifacts": [ { "path": str, "is_dir": bool, "file_size": int | null } ] | null
                                            # recursive, sorted by path; null = not listed
    }
  ],
  "registered_models": [                    # sorted by name; null = registry not read
    { "name": str, "description": str | null, "creation_timestamp": int | null,
      "last_updated_timestamp": int | null, "tags": { str: str },
      "aliases": { alias: version_str },
      "versions": [                         # visible versions, sorted by version as integer
        { "version": str, "current_stage": str, "description": str | null,
          "creation_timestamp": int | null, "last_updated_timestamp": int | null,
          "source": str | null, "run_id": str | null, "run_link": str | null,
          "status": str, "status_message": str | null, "user_id": str | null,
          "model_id": str | null, "tags": { str: str }, "aliases": [str] } ]   # aliases sorted
    }
  ] | null
}

With --logged-models (MLflow 3), the dump also has "logged_models" (every active logged model of
every experiment, sorted by model_id: model_id, experiment_id, name, status, model_type,
source_run_id, artifact_location, tags, params, metrics as [key, value, step, timestamp,
dataset_name, dataset_digest, run_id] sorted) and each run has "model_outputs" ([model_id, step]
sorted) and "model_inputs" (model ids, sorted).

Strings sort by Unicode code point (Python order); numeric ids sort by value, others after them.
Every number that is NaN or infinite is written as the string "NaN", "Infinity" or "-Infinity".
Empty descriptions ("") are reported as null, since stores differ in which one they keep.
"""

import json
import math
import os
import shutil
import sys
import warnings
from pathlib import Path

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
warnings.filterwarnings("ignore")

import logging  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)

PAGE = 1000


def num(x):
    if x is None:
        return None
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
    return x


def none_if_empty(s):
    return None if s in (None, "") else s


def id_key(s):
    return (len(s), s) if s.isdigit() else (sys.maxsize, s)


def input_sort_key(i):
    d = i["dataset"]
    return [d["name"], d["digest"], d["source_type"], d["source"]] + [
        part for k in sorted(i["tags"]) for part in (k, i["tags"][k])
    ]


def paged(fetch):
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def is_file_uri(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file:")


def dump_experiments(client, ViewType, prefix):
    exps = list(
        paged(
            lambda t: client.search_experiments(
                view_type=ViewType.ALL, max_results=PAGE, page_token=t
            )
        )
    )
    out = []
    for e in exps:
        if not e.name.startswith(prefix):
            continue
        out.append(
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "lifecycle_stage": e.lifecycle_stage,
                "artifact_location": e.artifact_location,
                "creation_time": e.creation_time,
                "last_update_time": e.last_update_time,
                "tags": dict(e.tags),
            }
        )
    out.sort(key=lambda e: id_key(e["experiment_id"]))
    return out


def list_artifacts(client, run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        out.append({"path": f.path, "is_dir": f.is_dir, "file_size": None if f.is_dir else f.file_size})
        if f.is_dir:
            out.extend(list_artifacts(client, run_id, f.path))
    return out


def dump_logged_models(client, experiment_ids):
    out = []
    for exp_id in experiment_ids:
        found = paged(
            lambda t, exp_id=exp_id: client.search_logged_models(
                experiment_ids=[exp_id], max_results=PAGE, page_token=t
            )
        )
        for m in found:
            out.append(
                {
                    "model_id": m.model_id,
                    "experiment_id": m.experiment_id,
                    "name": m.name,
                    "status": str(m.status),
                    "model_type": none_if_empty(m.model_type),
                    "source_run_id": none_if_empty(m.source_run_id),
                    "artifact_location": m.artifact_location,
                    "tags": dict(m.tags),
                    "params": dict(m.params),
                    "metrics": sorted(
                        [
                            [x.key, num(x.value), x.step, x.timestamp, x.dataset_name,
                             x.dataset_digest, x.run_id]
                            for x in (m.metrics or [])
                        ],
                        key=lambda x: [str(v) for v in x],
                    ),
                }
            )
    out.sort(key=lambda m: m["model_id"])
    return out


def model_links(run):
    outputs = getattr(run, "outputs", None)
    model_outputs = sorted(
        [[o.model_id, o.step] for o in (outputs.model_outputs if outputs else [])]
    )
    inputs = run.inputs
    model_inputs = sorted(
        [i.model_id for i in (getattr(inputs, "model_inputs", None) or [])] if inputs else []
    )
    return {"model_outputs": model_outputs, "model_inputs": model_inputs}


def dump_run(client, run, with_artifacts):
    from mlflow.entities import RunStatus

    info = run.info
    status = info.status
    if isinstance(status, int):
        status = RunStatus.to_string(status)
    latest = {}
    for m in getattr(run.data, "_metric_objs", None) or []:
        latest[m.key] = {"value": num(m.value), "timestamp": m.timestamp, "step": m.step}
    history = {}
    for key in sorted(latest):
        history[key] = [
            [m.timestamp, num(m.value), m.step] for m in client.get_metric_history(info.run_id, key)
        ]
    inputs = []
    dataset_inputs = run.inputs.dataset_inputs if run.inputs is not None else []
    for di in dataset_inputs:
        d = di.dataset
        inputs.append(
            {
                "dataset": {
                    "name": d.name,
                    "digest": d.digest,
                    "source_type": d.source_type,
                    "source": d.source,
                    "schema": d.schema,
                    "profile": d.profile,
                },
                "tags": {t.key: t.value for t in di.tags},
            }
        )
    inputs.sort(key=input_sort_key)
    artifacts = None
    if with_artifacts:
        artifacts = sorted(list_artifacts(client, info.run_id), key=lambda a: a["path"])
    return {
        "info": {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "user_id": info.user_id,
            "status": status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
            "lifecycle_stage": info.lifecycle_stage,
        },
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "metrics": latest,
        "metric_history": history,
        "inputs": inputs,
        "artifacts": artifacts,
    }


def dump_runs(client, ViewType, experiment_ids, with_artifacts, with_links=False):
    runs = []
    for exp_id in experiment_ids:
        runs.extend(
            paged(
                lambda t, exp_id=exp_id: client.search_runs(
                    [exp_id], run_view_type=ViewType.ALL, max_results=PAGE, page_token=t
                )
            )
        )
    out = [
        {**dump_run(client, r, with_artifacts), **(model_links(r) if with_links else {})}
        for r in runs
    ]
    out.sort(key=lambda r: r["info"]["run_id"])
    return out


def dump_registry(client, prefix):
    models = list(
        paged(lambda t: client.search_registered_models(max_results=PAGE, page_token=t))
    )
    out = []
    for rm in models:
        if not rm.name.startswith(prefix):
            continue
        versions = []
        found = paged(
            lambda t, name=rm.name: client.search_model_versions(
                f"name='{name}'", max_results=PAGE, page_token=t
            )
        )
        for found_mv in found:
            # Re-read one by one: the SQL store's search leaves `aliases` empty.
            mv = client.get_model_version(rm.name, str(found_mv.version))
            versions.append(
                {
                    "version": str(mv.version),
                    "current_stage": mv.current_stage,
                    "description": none_if_empty(mv.description),
                    "creation_timestamp": mv.creation_timestamp,
                    "last_updated_timestamp": mv.last_updated_timestamp,
                    "source": mv.source,
                    "run_id": none_if_empty(mv.run_id),
                    "run_link": none_if_empty(mv.run_link),
                    "status": mv.status,
                    "status_message": none_if_empty(mv.status_message),
                    "user_id": none_if_empty(mv.user_id),
                    "model_id": none_if_empty(getattr(mv, "model_id", None)),
                    "tags": dict(mv.tags),
                    "aliases": sorted(getattr(mv, "aliases", None) or []),
                }
            )
        versions.sort(key=lambda v: int(v["version"]))
        out.append(
            {
                "name": rm.name,
                "description": none_if_empty(rm.description),
                "creation_timestamp": rm.creation_timestamp,
                "last_updated_timestamp": rm.last_updated_timestamp,
                "tags": dict(rm.tags),
                "aliases": {a: str(v) for a, v in (getattr(rm, "aliases", None) or {}).items()},
                "versions": versions,
            }
        )
    out.sort(key=lambda m: m["name"])
    return out


def dump(uri, with_artifacts, with_registry, with_logged_models=False, prefix=""):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    if "://" not in uri:
        uri = Path(uri).resolve().as_uri()
    if with_artifacts is None:
        with_artifacts = is_file_uri(uri)
    # Set globally too: MLflow 3's registry FileStore resolves a version's `model_id` through a
    # fresh MlflowClient() on the global tracking URI, which otherwise defaults to
    # sqlite:///mlflow.db and creates that file in the current directory.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = dump_experiments(client, ViewType, prefix)
    ids = [e["experiment_id"] for e in experiments]
    runs = dump_runs(client, ViewType, ids, with_artifacts, with_logged_models)
    registered_models = dump_registry(client, prefix) if with_registry else None
    result = {"experiments": experiments, "runs": runs, "registered_models": registered_models}
    if with_logged_models:
        result["logged_models"] = dump_logged_models(client, ids)
    return json.dumps(result, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1)


def migrate(source, sqlite_path):
    from mlflow.store.fs2db import migrate as migrate_filestore

    target = Path(sqlite_path).resolve()
    if target.exists():
        raise SystemExit(f"reader.py migrate: {target} already exists")
    # What `mlflow migrate-filestore` runs, in this process (a second interpreter costs seconds),
    # onto a copy of an empty database at MLflow's schema: building the schema costs a second.
    shutil.copyfile(empty_database(), target)
    migrate_filestore(Path(source).resolve(), f"sqlite:///{target}", progress=False)


def empty_database():
    """An empty SQLite database at this MLflow's schema, built once in its venv."""
    from sqlalchemy import create_engine

    from mlflow.store.db.utils import _initialize_tables

    path = Path(sys.prefix) / "mlruns-empty-schema.db"
    if not path.exists():
        building = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        engine = create_engine(f"sqlite:///{building}")
        _initialize_tables(engine)
        engine.dispose()
        os.replace(building, path)
    return path


def main(argv):
    usage = (
        "usage: reader.py dump <tracking_uri> [--artifacts|--no-artifacts] [--no-registry]"
        " [--logged-models] [--prefix=<name prefix>]\n"
        "       reader.py migrate <mlruns_dir> <sqlite_path>"
    )
    if len(argv) >= 2 and argv[0] == "dump":
        prefix = next((f[len("--prefix=") :] for f in argv[2:] if f.startswith("--prefix=")), "")
        flags = {f for f in argv[2:] if not f.startswith("--prefix=")}
        unknown = flags - {"--artifacts", "--no-artifacts", "--no-registry", "--logged-models"}
        if unknown:
            raise SystemExit(f"unknown flags {sorted(unknown)}\n{usage}")
        with_artifacts = True if "--artifacts" in flags else False if "--no-artifacts" in flags else None
        with_registry = "--no-registry" not in flags
        result = dump(argv[1], with_artifacts, with_registry, "--logged-models" in flags, prefix)
        sys.stdout.write(result + "\n")
    elif len(argv) == 3 and argv[0] == "migrate":
        migrate(argv[1], argv[2])
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
