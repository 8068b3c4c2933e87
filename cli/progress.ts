/** A progress bar on stderr for long work, shown only when stderr is a terminal. */
import cliProgress from "cli-progress";

export interface Progress {
  /** `payload` fills the `{name}` tokens of the bar's format. */
  update(done: number, total: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar shown once `total` reaches `minTotal`; `format` is after the bar (cli-progress tokens). */
export function progress(label: string, minTotal = 50, format = "{value}/{total}"): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total, payload = {}) {
      if (bar === undefined) {
        if (total < minTotal) return;
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
