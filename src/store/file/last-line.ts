/**
 * A metric file's last line without its newline: a point, or a line still being written. MLflow's
 * Python writer writes whole lines, and its FileStore reads such a line as any other
 * (`readlines()` keeps it), so an old one is a finished point a crash left unended. A young one
 * may be half of a write a reader saw mid-way (`1700000000000 0.` of `1700000000000 0.25 3`,
 * which parses as 0): no point yet. Every reader of a metric file's end, and the writer deciding
 * whether to end such a line before appending, go by `lastLineIsPoint`.
 */
import { promises as fs, readSync } from "node:fs";

/** A last line without its newline younger than this (ms) is taken for one being written. */
export const WRITING_MS = 3000;

/** Whether a last line without its newline, in a file last changed at `mtimeMs`, is a point. */
export function lastLineIsPoint(mtimeMs: number): boolean {
  return Date.now() - mtimeMs >= WRITING_MS;
}

/**
 * The bytes from byte `at` (where the file's whole lines end) to its end, `stat.size`, when that
 * is a last line without its newline and a point; undefined when there is none or it is being
 * written.
 */
export function unendedPoint(
  fd: number,
  at: number,
  stat: { size: number; mtimeMs: number },
): Buffer | undefined {
  if (at >= stat.size || !lastLineIsPoint(stat.mtimeMs)) return undefined;
  const rest = Buffer.alloc(stat.size - at);
  return rest.subarray(0, readSync(fd, rest, 0, rest.length, at));
}

/**
 * A whole metric file without a last line still being written (cut before decoding: half a write
 * may end inside a character), and how many bytes the file held.
 */
export async function readMetricFile(path: string): Promise<{ lines: Buffer; size: number }> {
  const handle = await fs.open(path, "r");
  try {
    const bytes = await handle.readFile();
    // Taken after the read: a line it saw half written is younger than this.
    const { mtimeMs } = await handle.stat();
    const whole =
      bytes.length === 0 || bytes[bytes.length - 1] === 0x0a || lastLineIsPoint(mtimeMs);
    return {
      lines: whole ? bytes : bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1),
      size: bytes.length,
    };
  } finally {
    await handle.close();
  }
}
