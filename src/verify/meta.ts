/**
 * Checks of experiment, run and registry `meta.yaml` documents, as MLflow's FileStores read them.
 */
import { parse } from "yaml";
import { runStatusCode } from "../store/file/meta.ts";
import { yamlProblem } from "../store/file/yaml.ts";
import type { Entry } from "./files.ts";
import { problem, type VerifyProblem } from "./problems.ts";

type Doc = Record<string, unknown>;

/**
 * `notMapping`: YAML that parses to something other than a mapping. `migrate-filestore` skips a
 * meta.yaml it cannot parse (and the run, experiment or model with it), but fails on one of those.
 */
type Parsed =
  | { kind: "empty" }
  | { kind: "invalid"; error: string; notMapping?: true }
  | { kind: "ok"; doc: Doc };

/** The parsed mapping, or why there is none. */
export function parseMeta(text: string): Parsed {
  if (text.trim() === "") return { kind: "empty" };
  return parseYaml(text);
}

/** A meta.yaml as read from the tree (a folder, bad UTF-8 and the like are invalid). */
function parseEntry(entry: Exclude<Entry, { kind: "missing" }>): Parsed {
  if (entry.kind === "text") return parseMeta(entry.text);
  const error =
    entry.kind === "folder"
      ? "meta.yaml is a folder, not a file"
      : entry.kind === "binary"
        ? "meta.yaml is not valid UTF-8"
        : `meta.yaml cannot be read (${entry.why})`;
  return { kind: "invalid", error };
}

function parseYaml(text: string): Parsed {
  let document: unknown;
  try {
    document = parse(text, { version: "1.1" });
  } catch (error) {
    return { kind: "invalid", error: yamlProblem(error) };
  }
  if (document === null || document === undefined) return { kind: "empty" };
  if (typeof document !== "object" || Array.isArray(document)) {
    return { kind: "invalid", error: "not a YAML mapping", notMapping: true };
  }
  return { kind: "ok", doc: document as Doc };
}

const isInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v);

export interface ExperimentMeta {
  name: string;
  lifecycleStage: string;
}

/** Problems of an experiment meta.yaml, and its name when it is readable. */
export function checkExperimentMeta(
  path: string,
  entry: Entry,
  folder: string,
): { problems: VerifyProblem[]; meta?: ExperimentMeta } {
  if (entry.kind === "missing") {
    return {
      problems: [
        problem({
          code: "EXPERIMENT_META_MISSING",
          path,
          message: "experiment folder has no meta.yaml; MLflow skips the experiment",
        }),
      ],
    };
  }
  const parsed = parseEntry(entry);
  if (parsed.kind === "empty") {
    return {
      problems: [
        problem({
          code: "EXPERIMENT_META_EMPTY",
          path,
          message:
            "meta.yaml is empty; MLflow skips the experiment (and migration orphans its runs)",
        }),
      ],
    };
  }
  const invalid = (message: string, migrate = false) => ({
    problems: [problem({ code: "EXPERIMENT_META_INVALID", path, message, read: true, migrate })],
  });
  if (parsed.kind === "invalid") {
    return invalid(`${parsed.error}; MLflow fails to list experiments`, parsed.notMapping);
  }
  const { doc } = parsed;
  for (const key of ["experiment_id", "name", "artifact_location", "lifecycle_stage"]) {
    if (doc[key] === undefined || doc[key] === null) {
      return invalid(`'${key}' is missing; MLflow fails to list experiments`);
    }
  }
  if (doc.lifecycle_stage !== "active" && doc.lifecycle_stage !== "deleted") {
    return invalid(`'lifecycle_stage' is ${String(doc.lifecycle_stage)}, not active or deleted`);
  }
  if (String(doc.experiment_id) !== folder) {
    return {
      problems: [
        problem({
          code: "EXPERIMENT_ID_MISMATCH",
          path,
          message: `'experiment_id' is ${String(doc.experiment_id)} but the folder is ${folder}; MLflow ignores the experiment`,
        }),
      ],
    };
  }
  return {
    problems: [],
    meta: { name: String(doc.name), lifecycleStage: String(doc.lifecycle_stage) },
  };
}

export interface RunMeta {
  runId: string;
}

/** Problems of a run meta.yaml (`folder` is the run folder's name, `experimentId` its parent's). */
export function checkRunMeta(
  path: string,
  entry: Exclude<Entry, { kind: "missing" }>,
  folder: string,
  experimentId: string,
): VerifyProblem[] {
  const parsed = parseEntry(entry);
  if (parsed.kind === "empty") {
    return [
      problem({
        code: "RUN_META_EMPTY",
        path,
        message: "meta.yaml is empty; MLflow cannot read the run",
        read: true,
      }),
    ];
  }
  const invalid = (message: string, migrate = false) =>
    problem({ code: "RUN_META_INVALID", path, message, read: true, migrate });
  if (parsed.kind === "invalid") {
    return [invalid(`${parsed.error}; MLflow cannot read the run`, parsed.notMapping)];
  }
  const { doc } = parsed;
  const out: VerifyProblem[] = [];
  const runId = doc.run_id ?? doc.run_uuid;
  if (typeof runId !== "string") return [invalid("'run_id' is missing")];
  if (runId !== folder) {
    out.push(
      problem({
        code: "RUN_ID_MISMATCH",
        path,
        message: `'run_id' is ${runId} but the folder is ${folder}; MLflow fails to search the experiment`,
        read: true,
      }),
    );
  }
  if (doc.experiment_id === undefined || doc.experiment_id === null) {
    out.push(invalid("'experiment_id' is missing"));
  } else if (String(doc.experiment_id) !== experimentId) {
    out.push(
      problem({
        code: "RUN_EXPERIMENT_MISMATCH",
        path,
        message: `'experiment_id' is ${String(doc.experiment_id)} but the run is in experiment ${experimentId}; MLflow ignores the run`,
      }),
    );
  }
  if (!isInt(doc.start_time)) out.push(invalid("'start_time' must be an integer (milliseconds)"));
  if (!("end_time" in doc)) {
    out.push(
      problem({
        code: "RUN_END_TIME_MISSING",
        path,
        message: "'end_time' key is missing; MLflow fails to read the run",
        read: true,
        fix: {
          description: "add 'end_time: null'",
          action: { kind: "rewrite-run-meta", path },
        },
      }),
    );
  } else if (doc.end_time !== null && !isInt(doc.end_time)) {
    out.push(invalid("'end_time' must be an integer (milliseconds) or null"));
  }
  if (typeof doc.user_id !== "string") out.push(invalid("'user_id' must be a string"));
  const status = doc.status;
  const number = typeof status === "string" ? runStatusCode(status) : undefined;
  if (number !== undefined) {
    out.push(
      problem({
        code: "RUN_STATUS_STRING",
        path,
        message: `'status' is the string ${status}; MLflow reads only the number (${number})`,
        read: true,
        fix: {
          description: `write status as ${number}`,
          action: { kind: "rewrite-run-meta", path },
        },
      }),
    );
  } else if (
    status !== undefined &&
    status !== null &&
    !(isInt(status) && (status as number) >= 1 && (status as number) <= 5)
  ) {
    out.push(invalid(`'status' must be 1-5 (RUNNING..KILLED), got ${String(status)}`, true));
  }
  const stage = doc.lifecycle_stage;
  if (stage !== undefined && stage !== null && stage !== "active" && stage !== "deleted") {
    out.push(invalid(`'lifecycle_stage' is ${String(stage)}, not active or deleted`));
  }
  return out;
}

/**
 * A registered model's or model version's meta.yaml. MLflow's registry reads every one of them to
 * list models or versions, so one it cannot read fails those searches for the whole registry.
 */
export function checkRegistryMeta(
  path: string,
  entry: Entry,
  of: "model" | "version",
): VerifyProblem[] {
  const [missing, invalid] =
    of === "model"
      ? (["MODEL_META_MISSING", "MODEL_META_INVALID"] as const)
      : (["MODEL_VERSION_META_MISSING", "MODEL_VERSION_META_INVALID"] as const);
  const effect = `MLflow fails to list registered models${of === "version" ? " and to search model versions" : ""}`;
  const folder = of === "model" ? "registered model" : "model version";
  if (entry.kind === "missing") {
    return [
      problem({
        code: missing,
        path,
        message: `${folder} folder has no meta.yaml; ${effect}`,
        read: true,
      }),
    ];
  }
  const parsed = parseEntry(entry);
  if (parsed.kind === "ok") return [];
  const why = parsed.kind === "empty" ? "meta.yaml is empty" : parsed.error;
  const migrate = parsed.kind === "invalid" && parsed.notMapping;
  return [problem({ code: invalid, path, message: `${why}; ${effect}`, read: true, migrate })];
}

const INPUT_VERTEX_TYPES = new Set(["RUN", "DATASET", "MODEL"]);

/**
 * A run's input link (`inputs/<id>/meta.yaml`), as MLflow 3 reads every one of them to read the
 * run; its dataset id when it links a dataset.
 */
export function checkInputMeta(
  path: string,
  entry: Entry,
): { problems: VerifyProblem[]; datasetId?: string } {
  const invalid = (why: string, migrate = false) => ({
    problems: [
      problem({
        code: "INPUT_META_INVALID",
        path,
        message: `${why}; MLflow fails to read the run`,
        read: true,
        migrate,
      }),
    ],
  });
  if (entry.kind === "missing") return invalid("input folder has no meta.yaml");
  const parsed = parseEntry(entry);
  if (parsed.kind === "empty") return invalid("meta.yaml is empty");
  if (parsed.kind === "invalid") return invalid(parsed.error, parsed.notMapping);
  const { doc } = parsed;
  for (const key of ["source_type", "source_id", "destination_type", "destination_id", "tags"]) {
    if (!(key in doc)) return invalid(`'${key}' is missing`);
  }
  for (const key of ["source_type", "destination_type"]) {
    if (!INPUT_VERTEX_TYPES.has(String(doc[key]))) {
      return invalid(`'${key}' is ${String(doc[key])}, not RUN, DATASET or MODEL`);
    }
  }
  if (doc.source_type !== "DATASET") return { problems: [] };
  return { problems: [], datasetId: String(doc.source_id) };
}

/**
 * An experiment's dataset record (`datasets/<id>/meta.yaml`). MLflow reads it with the runs that
 * link it (`linked`): then a record it cannot read fails reading those runs.
 */
export function checkDatasetMeta(path: string, entry: Entry, linked: boolean): VerifyProblem[] {
  const effect = linked
    ? "MLflow fails to read the runs that use the dataset"
    : "no run uses the dataset, so MLflow does not read it";
  const invalid = (why: string, migrate = false) => [
    problem({
      code: "DATASET_META_INVALID",
      path,
      message: `${why}; ${effect}${migrate ? " (and migrate-filestore fails)" : ""}`,
      read: linked,
      migrate,
    }),
  ];
  if (entry.kind === "missing") return invalid("dataset folder has no meta.yaml");
  const parsed = parseEntry(entry);
  if (parsed.kind === "empty") return invalid("meta.yaml is empty");
  if (parsed.kind === "invalid") return invalid(parsed.error, parsed.notMapping);
  for (const key of ["name", "digest", "source_type", "source"]) {
    if (!(key in parsed.doc)) return invalid(`'${key}' is missing`);
  }
  return [];
}
