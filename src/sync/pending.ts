/**
 * What a tree still has to push to a server, told from the tree and the ledger alone (no
 * request): the runs whose files changed since their last complete copy, and how many metric
 * points they hold beyond what the ledger says went. What a background push reports when it
 * must stop before it is done.
 */

import { historyPages } from "../store/history-pages.ts";
import type { TrackingStore } from "../store/store.ts";
import { publicUri } from "./identity.ts";
import { Ledger, ledgerKey, ledgerPath } from "./ledger.ts";
import { chooseExperiments, type Selection, selectRuns } from "./select.ts";

export interface PendingRun {
  runId: string;
  runName: string;
  /** Metric points beyond the last complete copy (some may be on the server already). */
  points: number;
}

export interface PendingOptions extends Selection {
  /** The server the tree is pushed to. */
  target: string;
  experimentPrefix?: string;
}

const COUNT_PAGE = 10_000;

/** Counted a page at a time: a history of millions of points never sits in memory at exit. */
async function countPoints(source: TrackingStore, runId: string, key: string): Promise<number> {
  let count = 0;
  for await (const page of historyPages(source, runId, key, COUNT_PAGE)) count += page.length;
  return count;
}

export async function pendingRuns(options: PendingOptions): Promise<PendingRun[]> {
  const { source } = options;
  const ledger = await Ledger.open(
    ledgerPath(source),
    ledgerKey(publicUri(options.target), options.experimentPrefix),
  );
  const levels = await selectRuns(options, await chooseExperiments(options));
  const pending: PendingRun[] = [];
  for (const run of levels.flat()) {
    const { runId } = run.info;
    const entry = ledger.run(runId);
    const stamp = (await source.runStamp?.(runId)) ?? "";
    if (entry && !entry.dirty && entry.targetRunId && stamp !== "" && entry.stamp === stamp)
      continue;
    let points = 0;
    for (const key of Object.keys(run.data.metrics)) {
      points += Math.max(0, (await countPoints(source, runId, key)) - (entry?.metrics[key] ?? 0));
    }
    pending.push({ runId, runName: run.info.runName, points });
  }
  return pending;
}
