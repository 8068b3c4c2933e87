/**
 * What a command says while it retries a server that does not answer: from the first failure,
 * what failed, that it is retrying, how long that can take, and how to stop or shorten it.
 * Requests in flight together that fail alike are told once.
 */
import type { RetryNotice } from "mlruns";
import { e, note } from "./output.ts";

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}

const duration = (ms: number) => (ms < 500 ? "now" : `in ${seconds(ms)}`);
const about = (ms: number) => (ms < 500 ? "under a second" : `about ${seconds(ms)}`);

/** An `onRetry` for the HTTP settings of a command's server. */
export function retryNotes(): (notice: RetryNotice) => void {
  let last = "";
  let lastAt = 0;
  return (notice) => {
    const key = `${notice.attempt} ${notice.reason}`;
    if (key === last && Date.now() - lastAt < 5000) return;
    last = key;
    lastAt = Date.now();
    // A progress bar may be on the line: clear it first (it is drawn again on its next update).
    const clear = process.stderr.isTTY ? "\r\x1b[K" : "";
    if (notice.attempt === 2) {
      const retries = notice.attempts - 1;
      note(
        e.yellow(
          `${clear}${notice.request} to ${notice.url} failed: ${notice.reason}. Retrying ` +
            `${duration(notice.delayMs)}, up to ${retries} time${retries === 1 ? "" : "s"} ` +
            `(${about(notice.delayMs + notice.laterMs)} of waiting in all). Ctrl-C stops; ` +
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 gives up at once, a smaller number sooner.",
        ),
      );
      return;
    }
    const after =
      notice.attempt === notice.attempts
        ? " (the last)"
        : `, then up to ${about(notice.laterMs)} more`;
    note(
      e.yellow(
        `${clear}Still failing (${notice.reason}): attempt ${notice.attempt} of ` +
          `${notice.attempts} ${duration(notice.delayMs)}${after}.`,
      ),
    );
  };
}
