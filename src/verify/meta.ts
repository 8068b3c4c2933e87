/**
 * Checks of experiment, run and registry `meta.yaml` documents, as MLflow's FileStores read them.
 */
import { parse } from "yaml";
import { runStatusCode } from "../store/file/meta.ts";
import { problem, type VerifyProblem } from "./problems.ts";

type Doc = Record<string, unknown>;

type Parsed = { kind: "empty" } | { kind: "invalid"; error: string } | { kind: "ok"; doc: Doc };

/** The parsed mapping, or why there is none. */
export function parseMeta(text: string): Parsed {
  if (text.trim() === "") return { kind: "empty" };
  let document: unknown;
  try {
    document = parse(text, { version: "1.1" });
  } catch (error) {
    return { kind: "invalid", error: `not valid YAML: ${(error as Error).message.split("\n")[0]}` };
  }
  if (document === null || document === undefined) return { kind: "empty" };
  if (typeof document !== "object" || Array.isArray(document)) {
    return { kind: "invalid", error: "not a YAML mapping" };
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
  text: string | undefined,
  folder: string,
): { problems: VerifyProblem[]; meta?: ExperimentMeta } {
  if (text === undefined) {
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
  const parsed = parseMeta(text);
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
  const invalid = (message: string) => ({
    problems: [problem({ code: "EXPERIMENT_META_INVALID", path, message, read: true })],
  });
  if (parsed.kind === "invalid")
    return invalid(`${parsed.error}; MLflow fails to list experiments`);
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
  text: string,
  folder: string,
  experimentId: string,
): VerifyProblem[] {
  const parsed = parseMeta(text);
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
  if (parsed.kind === "invalid")
    return [invalid(`${parsed.error}; MLflow cannot read the run`, true)];
  const { doc } = parsed;
  const out: VerifyProblem[] = [];
  const runId = doc.run_id ?? doc.run_uuid;
  if (typeof runId !== "string") return [invalid("'run_id' is missing", true)];
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
  text: string | undefined,
  of: "model" | "version",
): VerifyProblem[] {
  const [missing, invalid] =
    of === "model"
      ? (["MODEL_META_MISSING", "MODEL_META_INVALID"] as const)
      : (["MODEL_VERSION_META_MISSING", "MODEL_VERSION_META_INVALID"] as const);
  const effect = `MLflow fails to list registered models${of === "version" ? " and to search model versions" : ""}`;
  const folder = of === "model" ? "registered model" : "model version";
  if (text === undefined) {
    return [
      problem({
        code: missing,
        path,
        message: `${folder} folder has no meta.yaml; ${effect}`,
        read: true,
      }),
    ];
  }
  const parsed = parseMeta(text);
  if (parsed.kind === "ok") return [];
  const why = parsed.kind === "empty" ? "meta.yaml is empty" : parsed.error;
  return [problem({ code: invalid, path, message: `${why}; ${effect}`, read: true })];
}
