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
