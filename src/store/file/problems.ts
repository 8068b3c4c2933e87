import { isUtf8 } from "node:buffer";
import { isMlflowError, MlflowError } from "../../errors.ts";

/** What a reader found wrong in a tree: a path, maybe a line, and what is wrong there. */
export interface TreeProblem {
  path: string;
  line?: number;
  message: string;
}

export type ProblemHandler = (problem: TreeProblem) => void;

export function describeProblem(problem: TreeProblem): string {
  const where = problem.line === undefined ? problem.path : `${problem.path}:${problem.line}`;
  return `${where}: ${problem.message}`;
}

/** The default: a Node warning per problem, so a broken file is named but listing goes on. */
export const warnProblem: ProblemHandler = (problem) => {
  process.emitWarning(describeProblem(problem), { code: "MLRUNS_TREE" });
};

/**
 * A problem that makes a run, experiment or model unreadable: MLflow's INVALID_STATE (the code it
 * gives a run whose metadata is broken), with the file, and what to run.
 */
export class TreeError extends MlflowError {
  readonly problem: TreeProblem;

  constructor(problem: TreeProblem) {
    super("INVALID_STATE", `Malformed mlruns tree: ${describeProblem(problem)}`, {
      hint: "Run `mlruns verify` on the tree to see every problem and what `--fix` can repair",
    });
    this.problem = problem;
  }
}

/** True for a TreeError, also across module copies (as `isMlflowError`). */
export function isTreeError(error: unknown): error is TreeError {
  return isMlflowError(error) && "problem" in error;
}

/**
 * A file's text, strictly UTF-8 as MLflow reads it (Node would put U+FFFD where MLflow fails);
 * a TreeError naming the file otherwise.
 */
export function utf8Text(path: string, bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    throw new TreeError({ path, message: "not valid UTF-8 (MLflow cannot read it either)" });
  }
  return bytes.toString("utf8");
}

/** A read error as a TreeError naming the file (errors already naming it pass through). */
export function asTreeError(path: string, error: unknown): TreeError {
  if (isTreeError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    code === "EISDIR"
      ? "a folder where a file belongs"
      : code === "ENOTDIR"
        ? "a file where a folder belongs"
        : code === "ELOOP"
          ? "a symbolic link loop"
          : `cannot be read (${(error as Error).message})`;
  return new TreeError({ path, message });
}
