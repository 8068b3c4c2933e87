/** A progress bar on stderr for long work, shown only when stderr is a terminal. */
import { createRequire } from "node:module";
import type cliProgressTypes from "cli-progress";

/** cli-progress, loaded only when a bar is really drawn (it costs startup time otherwise). */
const loadBars = () => createRequire(import.meta.url)("cli-progress") as typeof cliProgressTypes;

export interface Progress {
  /** `payload` fills the `{name}` tokens of the bar's format. */
  update(done: number, total: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar shown once `total` reaches `minTotal`; `format` is after the bar (cli-progress tokens). */
export function progress(label: string, minTotal = 50, format = "{value}/{total}"): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  let bar: cliProgressTypes.SingleBar | undefined;
  return {
    update(done, total, payload = {}) {
      if (bar === undefined) {
        if (total < minTotal) return;
        const cliProgress = loadBars();
        bar = new cliProgress.SingleBar(
          {
            format: `${label} [{bar}] ${format}`,
            stream: process.stderr,
            clearOnComplete: true,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, payload);
      }
      bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      bar?.stop();
    },
  };
}
