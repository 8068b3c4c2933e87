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

/** A problem that makes a run or experiment unreadable. */
export class TreeError extends MlflowError {
  readonly problem: TreeProblem;

  constructor(problem: TreeProblem) {
    super("INTERNAL_ERROR", `Malformed mlruns tree: ${describeProblem(problem)}`, {
      hint: "Run `mlruns verify` on the tree to see every problem and what `--fix` can repair",
    });
    this.problem = problem;
  }
}

/** True for a TreeError, also across module copies (as `isMlflowError`). */
export function isTreeError(error: unknown): error is TreeError {
  return isMlflowError(error) && "problem" in error;
}
