/**
 * What `verifyTree` reports: one entry per problem, with a stable code, where it is, whether it
 * breaks MLflow's reader or `mlflow migrate-filestore`, and whether `fixTree` can repair it.
 */

/** Every problem code, in the order the checks run (root, experiments, runs, metrics, registry). */
export const PROBLEM_CODES = [
  "ROOT_MISSING",
  "DEFAULT_EXPERIMENT_MISSING",
  "TRASH_MISSING",
  "TRASH_NOT_A_FOLDER",
  "ODD_ROOT_FOLDER",
  "NON_NUMERIC_EXPERIMENT_ID",
  "EXPERIMENT_META_MISSING",
  "EXPERIMENT_META_EMPTY",
  "EXPERIMENT_META_INVALID",
  "EXPERIMENT_ID_MISMATCH",
  "DUPLICATE_EXPERIMENT_NAME",
  "EXPERIMENT_NAME_TOO_LONG",
  "RUN_FOLDER_WITHOUT_META",
  "RUN_META_EMPTY",
  "RUN_META_INVALID",
  "RUN_ID_MISMATCH",
  "RUN_EXPERIMENT_MISMATCH",
  "RUN_STATUS_STRING",
  "RUN_END_TIME_MISSING",
  "RUN_FOLDER_MISSING",
  "STRAY_FILE",
  "TEMP_FILE_LEFTOVER",
  "KEY_NAME_INVALID",
  "KEY_FILE_NOT_UTF8",
  "SYMLINK",
  "UNREADABLE",
  "METRIC_FILE_EMPTY",
  "METRIC_BLANK_LINE",
  "METRIC_LINE_MALFORMED",
  "METRIC_FLOAT_STEP",
  "METRIC_FLOAT_TIMESTAMP",
  "METRIC_DUPLICATE_LINE",
  "INPUT_META_INVALID",
  "DATASET_META_INVALID",
  "MODEL_META_MISSING",
  "MODEL_META_INVALID",
  "MODEL_VERSION_META_MISSING",
  "MODEL_VERSION_META_INVALID",
  "MODEL_ALIAS_DANGLING",
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** `error` when MLflow fails to read the tree or `migrate-filestore` rejects it; else `warning`. */
export type Severity = "error" | "warning";

/** The repairs `fixTree` knows; each is safe: it never drops data MLflow could read. */
export type FixAction =
  | { kind: "create-default-experiment" }
  | { kind: "create-trash" }
  | { kind: "make-folder"; path: string }
  | { kind: "delete-file"; path: string }
  | { kind: "rewrite-metric-file"; path: string; runDir: string }
  | { kind: "rewrite-run-meta"; path: string };

export interface VerifyProblem {
  code: ProblemCode;
  severity: Severity;
  /** What this problem breaks in MLflow: reading (client, UI, server) and migration to SQL. */
  breaks: { read: boolean; migrate: boolean };
  /** Absolute path of the file or folder. */
  path: string;
  /** 1-based line, for problems inside a metric file. */
  line?: number;
  message: string;
  fixable: boolean;
  /** What `fixTree` will do, in words, when fixable. */
  fix?: string;
  /** The repair, when fixable (data for `fixTree`). */
  action?: FixAction;
}

export interface VerifyReport {
  root: string;
  problems: VerifyProblem[];
  checked: { experiments: number; runs: number; metricFiles: number; models: number };
}

export type ProgressHandler = (done: number, total: number) => void;

interface ProblemInput {
  code: ProblemCode;
  path: string;
  line?: number;
  message: string;
  read?: boolean;
  migrate?: boolean;
  fix?: { description: string; action: FixAction };
}

export function problem(input: ProblemInput): VerifyProblem {
  const read = input.read ?? false;
  const migrate = input.migrate ?? false;
  const out: VerifyProblem = {
    code: input.code,
    severity: read || migrate ? "error" : "warning",
    breaks: { read, migrate },
    path: input.path,
    message: input.message,
    fixable: input.fix !== undefined,
  };
  if (input.line !== undefined) out.line = input.line;
  if (input.fix) {
    out.fix = input.fix.description;
    out.action = input.fix.action;
  }
  return out;
}
