/**
 * A tree whose long histories another program wrote (MLflow's Python: plain lines, no history
 * summaries), searched once by an earlier session (its index file holds the runs' latest
 * points) whose summaries went to a cache folder of their own: what a first chart of it, with
 * any other cache folder, reads cold.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { pyFloatRepr } from "../../src/py-format.ts";
import { BLOCK, cacheFileOf, loadBlocks } from "../../src/store/file/history-blocks.ts";

/** Points a history: about 6 MB a file, past the size summaries start at. */
export const FOREIGN_POINTS = 150_000;

export interface ForeignTree {
  root: string;
  experimentId: string;
  ids: string[];
  /** Each run's `loss` file. */
  files: string[];
}

export async function writeForeignTree(root: string, runs: number): Promise<ForeignTree> {
  const cacheBefore = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = `${root}.earlier-session`;
  try {
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("foreign");
    const ids: string[] = [];
    const files: string[] = [];
    for (let r = 0; r < runs; r++) {
      const run = await store.createRun({ experimentId, runName: `long-${r}` });
      let text = "";
      for (let step = 0; step < FOREIGN_POINTS; step++) {
        const value = Math.exp(-step / 40_000) + 0.01 * Math.sin(step) + (step === 99_999 ? 9 : r);
        text += `${1_700_000_000_000 + step * 7} ${pyFloatRepr(value)} ${step}\n`;
      }
      const file = join(root, experimentId, run.info.runId, "metrics", "loss");
      fs.writeFileSync(file, text);
      ids.push(run.info.runId);
      files.push(file);
    }
    // A run changed within the last moments is read again by the next search: let them settle.
    await new Promise((done) => setTimeout(done, 3500));
    await store.searchRuns({ experimentIds: [experimentId] });
    await store.close();
    return { root, experimentId, ids, files };
  } finally {
    if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheBefore;
  }
}

/** Lines the whole blocks of the summary kept for `file` in the cache folder `cache` hold. */
export function keptLines(file: string, cache: string): number {
  const cacheBefore = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  const fd = fs.openSync(file, "r");
  try {
    return (loadBlocks(cacheFileOf(file), fd)?.blocks.count ?? 0) * BLOCK;
  } finally {
    fs.closeSync(fd);
    if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheBefore;
  }
}

/** Whole blocks' lines of a full history: what a complete summary holds. */
export const WHOLE_LINES = Math.floor(FOREIGN_POINTS / BLOCK) * BLOCK;

/** Resolves once `check` holds, polling; throws after `ms`. */
export async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("not within the time allowed");
    await new Promise((done) => setTimeout(done, 50));
  }
}
