/**
 * Tree verification: `verifyTree(root)` lists what MLflow would fail on (or silently skip) and
 * what `mlflow migrate-filestore` would reject; `fixTree(root, problems)` makes the safe repairs.
 * Plan and apply are apart, so a CLI can show the plan before anything changes.
 */

export { type VerifyOptions, verifyTree } from "./check.ts";
export { type FixResult, fixTree } from "./fix.ts";
export {
  type FixAction,
  PROBLEM_CODES,
  type ProblemCode,
  type Severity,
  type VerifyProblem,
  type VerifyReport,
} from "./problems.ts";
