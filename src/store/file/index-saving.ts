/**
 * When the search index reads and writes its file (index-file.ts): read once, on first use;
 * written before a search returns once SAVE_NOW runs were re-read, else SAVE_DELAY_MS after the
 * first unsaved change, and on close. A file that cannot be written only makes the next
 * process slower.
 */
import { encodeIndex, readIndex, writeIndex } from "./index-file.ts";
import type { Entry } from "./summaries.ts";

/** Re-reading at least this many runs saves the index before the search returns. */
const SAVE_NOW = 1000;
const SAVE_DELAY_MS = 2000;

export class IndexSaving {
  readonly #file: string | undefined;
  readonly #root: string;
  readonly #entries: () => Iterable<[string, Entry]>;
  #unsaved = 0;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** `file` undefined keeps the index in memory only; `entries` is what a save writes. */
  constructor(file: string | undefined, root: string, entries: () => Iterable<[string, Entry]>) {
    this.#file = file;
    this.#root = root;
    this.#entries = entries;
  }

  /** The file's entries by run folder key (none when there is no file, or it is unusable). */
  async read(): Promise<Map<string, Entry>> {
    return this.#file === undefined ? new Map() : readIndex(this.#file);
  }

  /** One entry was added, replaced or dropped. */
  changed(): void {
    this.#unsaved++;
  }

  /** Saves now after many changes, or schedules a save after a few. */
  saveSoon(): Promise<void> | undefined {
    if (this.#unsaved >= SAVE_NOW) return this.save();
    if (this.#unsaved > 0) this.#schedule();
    return undefined;
  }

  #schedule(): void {
    if (this.#file === undefined || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.save().catch(() => {});
    }, SAVE_DELAY_MS);
    this.#timer.unref();
  }

  /** Writes the index file now (also done after large re-reads, and soon after small ones). */
  async save(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const file = this.#file;
    if (file === undefined || this.#unsaved === 0) return this.#saving;
    this.#unsaved = 0;
    this.#saving = this.#saving.then(async () => {
      try {
        await writeIndex(file, encodeIndex(this.#root, this.#entries()));
      } catch {
        // a cache that cannot be written (read-only tree, string too long) is only slower
      }
    });
    return this.#saving;
  }
}
