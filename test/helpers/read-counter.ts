/**
 * Counts the bytes a test's code reads with `readSync` (every metric history read goes that way),
 * so a test can say how much of a file a reader touched. In the test file:
 *
 *     vi.mock("node:fs", async (original) =>
 *       (await import("./helpers/read-counter.ts")).countingReads(await original()));
 */
import type * as fs from "node:fs";

/** Bytes read since the test last set `reads.bytes` (to 0). */
export const reads = { bytes: 0 };

/** `node:fs` with a `readSync` that adds what it reads to `reads.bytes`. */
export function countingReads(real: typeof fs): typeof fs {
  const readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const n = real.readSync(...args);
    reads.bytes += n;
    return n;
  }) as typeof fs.readSync;
  return { ...real, readSync, default: { ...real, readSync } } as typeof fs;
}
