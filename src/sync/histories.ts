/**
 * Copies metric histories a page at a time, so that a run of any length costs bounded memory:
 * the source is read in pages, and the points the target lacks go in batches of MLflow's
 * log-batch limit, in the source's order. Before sending past what the ledger says may be on the
 * target, the copier writes the ledger again (a checkpoint); so a killed copy is resumed by
 * looking on the target for the few points sent since, never by reading its whole history.
 */
import type { Metric } from "../entities.ts";
import { historyPages } from "../store/history-pages.ts";
import type { TrackingStore } from "../store/store.ts";
import { ALL_POINTS, type HistoryPlan, pointIdentity } from "./plan.ts";

/**
 * MLflow's log-batch limit on metrics, and the points asked of the source per request: a page's
 * points die with the one request that sends them, before the GC would move them to the old
 * generation (pages of 10,000 grew a 10 M-point push by 89 MB, mostly garbage awaiting a full GC).
 */
const BATCH = 1000;
/** Points sent between two checkpoints; as many source points are looked for on the target at once. */
export const CHECKPOINT_POINTS = 50_000;

export interface HistoryCopy {
  source: TrackingStore;
  sourceRunId: string;
  target: TrackingStore;
  /** The copy on the target, where points are looked for; none when it is yet to be created. */
  targetRunId: string | undefined;
  /** Sends at most 1000 points; none in a dry run, which only counts. */
  send?: (points: Metric[]) => Promise<void>;
  /**
   * Records that the first `done` points of `key` are on the target and that up to `upTo` may
   * be; called before any point at or past the last `upTo` (at first the plan's `check`) is sent.
   */
  checkpoint?: (key: string, done: number, upTo: number) => Promise<void>;
}

/**
 * Copies (or, without `send`, counts) the points of one metric the target lacks. Returns how
 * many points the source history holds and how many went. A source holding fewer points than the
 * ledger says went (a history rewritten) is compared with the target point by point.
 */
export async function copyHistory(
  copy: HistoryCopy,
  plan: HistoryPlan,
): Promise<{ count: number; copied: number }> {
  const { key } = plan;
  let index = 0;
  let copied = 0;
  let done = plan.from;
  let allowed = plan.check;
  let batch: Metric[] = [];
  let batchEnd = 0;
  let unsure: Metric[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    const points = batch;
    batch = [];
    copied += points.length;
    if (copy.send === undefined) return;
    if (batchEnd > allowed) {
      allowed = Math.max(batchEnd, done + CHECKPOINT_POINTS);
      await copy.checkpoint?.(key, done, allowed);
    }
    await copy.send(points);
    done = batchEnd;
  };
  const emit = async (point: Metric, end: number) => {
    batch.push(point);
    batchEnd = end;
    if (batch.length >= BATCH) await flush();
  };
  /** Sends the points of `unsure` (ending at `end`) that the target does not hold. */
  const settle = async (end: number) => {
    const found = await onTarget(copy, key, unsure);
    const points = unsure;
    unsure = [];
    for (const [i, point] of points.entries()) {
      const id = pointIdentity(point);
      if (found.has(id)) continue;
      found.add(id);
      await emit(point, end - points.length + i + 1);
    }
  };

  for await (const page of historyPages(copy.source, copy.sourceRunId, key, BATCH)) {
    for (const point of page) {
      index++;
      if (index <= plan.from) continue;
      if (index <= plan.check) {
        unsure.push(point);
        if (unsure.length >= CHECKPOINT_POINTS) await settle(index);
      } else {
        if (unsure.length > 0) await settle(index - 1);
        await emit(point, index);
      }
    }
  }
  if (unsure.length > 0) await settle(index);
  await flush();
  if (index < plan.from) return copyHistory(copy, { key, from: 0, check: ALL_POINTS });
  return { count: index, copied };
}

/** The identities among `points` that the target's history of `key` holds. */
async function onTarget(copy: HistoryCopy, key: string, points: Metric[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (copy.targetRunId === undefined) return found;
  const wanted = new Set(points.map(pointIdentity));
  for await (const page of historyPages(copy.target, copy.targetRunId, key, BATCH)) {
    for (const point of page) {
      const id = pointIdentity(point);
      if (wanted.has(id)) found.add(id);
    }
  }
  return found;
}
