/**
 * Clauses × Run → boolean. Never parses: it takes what parse.ts produced.
 *
 * Semantics (MLflow 3.17; where its FileStore and SQL store differ, the choice is stated):
 * - A clause on a metric, param or tag the run does not have is false, `!=` included;
 *   `IS NULL` / `IS NOT NULL` test presence. (Both stores.)
 * - Metrics compare the latest value. NaN compares false except `!=`, which is true (both stores
 *   since 3.12; older SQL servers compared the stored 0).
 * - LIKE is case-sensitive; ILIKE folds case with Unicode rules (SQLite's `lower()` folds ASCII only,
 *   Python's re.IGNORECASE folds Unicode: we follow the FileStore, as PostgreSQL does).
 * - `%` matches any run of characters including newlines and `_` exactly one character (a code
 *   point); every other character, backslash included, is literal; the match is anchored at both
 *   ends. This is SQL's LIKE, matched in linear time (like.ts). MLflow's FileStore differs on
 *   newlines: its `%` stops at a newline, and its `$` anchor also matches before a final newline.
 * - `run_name` reads `info.runName` (the FileStore's field; the SQL store reads the `mlflow.runName`
 *   tag, the same value when both are kept in sync).
 * - A numeric attribute that is null (`end_time` of a running run) never matches.
 * - A dataset clause holds when any of the run's dataset inputs satisfies it; `context` is the
 *   input's `mlflow.data.context` tag.
 */
import type { DatasetInput, Experiment, Run } from "../entities.ts";
import type { Clause, ExperimentClause, NumericComparator } from "./grammar.ts";
import { likeMatches } from "./like.ts";

const DATASET_CONTEXT_TAG = "mlflow.data.context";

export function compareNumbers(lhs: number, comparator: NumericComparator, rhs: number): boolean {
  switch (comparator) {
    case "=":
      return lhs === rhs;
    case "!=":
      return lhs !== rhs;
    case ">":
      return lhs > rhs;
    case ">=":
      return lhs >= rhs;
    case "<":
      return lhs < rhs;
    case "<=":
      return lhs <= rhs;
  }
}

function compareStrings(
  lhs: string,
  comparator: "=" | "!=" | "LIKE" | "ILIKE" | "IN" | "NOT IN",
  rhs: string | string[],
): boolean {
  switch (comparator) {
    case "=":
      return lhs === rhs;
    case "!=":
      return lhs !== rhs;
    case "LIKE":
      return likeMatches(lhs, rhs as string, false);
    case "ILIKE":
      return likeMatches(lhs, rhs as string, true);
    case "IN":
      return (rhs as string[]).includes(lhs);
    case "NOT IN":
      return !(rhs as string[]).includes(lhs);
  }
}

function datasetValue(input: DatasetInput, key: "name" | "digest" | "context"): string | undefined {
  if (key === "context") return input.tags[DATASET_CONTEXT_TAG];
  return input.dataset[key];
}

const own = (record: Record<string, string>, key: string): string | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/** True when `run` satisfies one clause. */
export function matchesClause(run: Run, clause: Clause): boolean {
  switch (clause.type) {
    case "metric": {
      const metric = Object.hasOwn(run.data.metrics, clause.key)
        ? run.data.metrics[clause.key]
        : undefined;
      if (metric === undefined) return false;
      return compareNumbers(metric.value, clause.comparator, clause.value);
    }
    case "parameter":
    case "tag": {
      const values = clause.type === "parameter" ? run.data.params : run.data.tags;
      const lhs = own(values, clause.key);
      if (!("value" in clause)) {
        return clause.comparator === "IS NULL" ? lhs === undefined : lhs !== undefined;
      }
      if (lhs === undefined) return false;
      return compareStrings(lhs, clause.comparator, clause.value);
    }
    case "attribute": {
      const info = run.info;
      switch (clause.key) {
        case "start_time":
        case "end_time": {
          const lhs = clause.key === "start_time" ? info.startTime : info.endTime;
          if (lhs === null || lhs === undefined) return false;
          return compareNumbers(lhs, clause.comparator, clause.value);
        }
        default: {
          const lhs = {
            run_id: info.runId,
            run_name: info.runName,
            user_id: info.userId,
            status: info.status,
            artifact_uri: info.artifactUri,
          }[clause.key];
          if (lhs === null || lhs === undefined) return false;
          return compareStrings(lhs, clause.comparator, clause.value);
        }
      }
    }
    case "dataset":
      return run.inputs.some((input) => {
        const lhs = datasetValue(input, clause.key);
        return lhs !== undefined && compareStrings(lhs, clause.comparator, clause.value);
      });
  }
}

/** True when `run` satisfies every clause (clauses are AND-ed; none means every run). */
export function matchesRun(run: Run, clauses: readonly Clause[]): boolean {
  return clauses.every((clause) => matchesClause(run, clause));
}

/** True when `experiment` satisfies one search_experiments clause. */
export function matchesExperimentClause(experiment: Experiment, clause: ExperimentClause): boolean {
  if (clause.type === "tag") {
    const lhs = own(experiment.tags, clause.key);
    if (!("value" in clause)) {
      return clause.comparator === "IS NULL" ? lhs === undefined : lhs !== undefined;
    }
    if (lhs === undefined) return false;
    return compareStrings(lhs, clause.comparator, clause.value);
  }
  switch (clause.key) {
    case "creation_time":
    case "last_update_time": {
      const lhs =
        clause.key === "creation_time" ? experiment.creationTime : experiment.lastUpdateTime;
      if (lhs === null || lhs === undefined) return false;
      return compareNumbers(lhs, clause.comparator, clause.value);
    }
    case "name":
      return compareStrings(experiment.name, clause.comparator, clause.value);
    case "experiment_id":
      return compareStrings(experiment.experimentId, clause.comparator, clause.value);
  }
}

export function matchesExperiment(
  experiment: Experiment,
  clauses: readonly ExperimentClause[],
): boolean {
  return clauses.every((clause) => matchesExperimentClause(experiment, clause));
}
