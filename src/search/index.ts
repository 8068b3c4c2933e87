/**
 * search_runs and search_experiments over runs and experiments already in memory, with MLflow's
 * filter grammar, ordering and paging: parse → evaluate → order → page. Every store that holds its
 * own data (file, memory) searches through here.
 */
import type { Experiment, Run } from "../entities.ts";
import { matchesExperiment, matchesRun } from "./evaluate.ts";
import { parseExperimentFilter } from "./experiment-filter.ts";
import {
  experimentComparator,
  parseExperimentOrderByList,
  parseOrderByList,
  sortRuns,
} from "./order.ts";
import { checkMaxResults, paginate, paginateFirst } from "./page.ts";
import { parseFilter } from "./run-filter.ts";

export interface SearchQuery {
  /** MLflow filter string; empty or absent matches everything. */
  filter?: string | undefined;
  /** order_by elements, e.g. `["metrics.acc DESC", "start_time"]`. */
  orderBy?: readonly string[] | undefined;
  /** 1..50000, default 1000. */
  maxResults?: number | undefined;
  /** A token from a previous page of the same query. */
  pageToken?: string | undefined;
}

export interface SearchRunsResult {
  runs: Run[];
  nextPageToken?: string;
}

export interface SearchExperimentsResult {
  experiments: Experiment[];
  nextPageToken?: string;
}

/**
 * Filters, orders and pages `runs` (the caller has already chosen experiments and view type).
 * Throws MlflowError INVALID_PARAMETER_VALUE on a bad filter, order_by, max_results or token.
 * @example searchRuns(runs, { filter: "metrics.acc > 0.9", orderBy: ["metrics.acc DESC"] })
 */
export function searchRuns(runs: readonly Run[], query: SearchQuery = {}): SearchRunsResult {
  const maxResults = checkMaxResults(query.maxResults);
  const clauses = parseFilter(query.filter);
  const order = parseOrderByList(query.orderBy);
  const matched = runs.filter((run) => matchesRun(run, clauses));
  const page = paginateFirst(
    matched.length,
    query.pageToken,
    maxResults,
    { kind: "runs", filter: query.filter, orderBy: query.orderBy },
    (end) => sortRuns(matched, order, end),
  );
  const { items, ...token } = page;
  return { runs: items, ...token };
}

/**
 * Every run of `runs` that matches the filter, in order, without paging: for a caller that pages
 * and projects the result itself (the UI's runs table). Given `first`, only the first `first`
 * are in order, followed by the others in no order: a page that shows the top of 100,000 runs
 * and their count needs no more. Errors as `searchRuns`.
 */
export function matchRuns(
  runs: readonly Run[],
  query: Pick<SearchQuery, "filter" | "orderBy">,
  first?: number,
): Run[] {
  const clauses = parseFilter(query.filter);
  const order = parseOrderByList(query.orderBy);
  const matched = runs.filter((run) => matchesRun(run, clauses));
  if (first === undefined) return sortRuns(matched, order);
  const head = sortRuns(matched, order, first);
  const chosen = new Set(head);
  return head.concat(matched.filter((run) => !chosen.has(run)));
}

/**
 * Filters, orders and pages `experiments` (the caller has already applied the view type).
 * Default order: `creation_time DESC, experiment_id ASC`.
 */
export function searchExperiments(
  experiments: readonly Experiment[],
  query: SearchQuery = {},
): SearchExperimentsResult {
  const maxResults = checkMaxResults(query.maxResults);
  const clauses = parseExperimentFilter(query.filter);
  const order = parseExperimentOrderByList(query.orderBy);
  const matched = experiments
    .filter((e) => matchesExperiment(e, clauses))
    .sort(experimentComparator(order));
  const page = paginate(matched, query.pageToken, maxResults, {
    kind: "experiments",
    filter: query.filter,
    orderBy: query.orderBy,
  });
  const { items, ...token } = page;
  return { experiments: items, ...token };
}

export { parseExperimentFilter } from "./experiment-filter.ts";
export type { Clause, ExperimentClause } from "./grammar.ts";
export type { OrderByClause } from "./order.ts";
export { parseOrderBy } from "./order.ts";
export { DEFAULT_MAX_RESULTS, MAX_RESULTS_THRESHOLD } from "./page.ts";
export { parseFilter } from "./run-filter.ts";
