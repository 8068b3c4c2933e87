/**
 * Ends runs when the process does: FINISHED when the event loop drains (as MLflow's atexit hook
 * does); on `process.exit()` (or an uncaught exception) synchronously, FINISHED for exit code 0
 * and FAILED otherwise; KILLED on SIGINT or SIGTERM, after which the signal is raised again so
 * the process exits as it would have. A run that cannot be ended cleanly (points the store
 * refused, a store that cannot write while exiting) is reported on stderr and the exit code
 * becomes 1. Listeners exist only while some run is active.
 */
import type { RunStatus } from "../entities.ts";
import { isMlflowError } from "../errors.ts";

interface Endable {
  readonly id: string;
  end(status?: RunStatus): Promise<unknown>;
  endSync(status: RunStatus): void;
}

const active = new Set<Endable>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function report(run: Endable, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const hint = isMlflowError(error) && error.hint !== undefined ? `\n  hint: ${error.hint}` : "";
  process.stderr.write(`mlruns: run ${run.id} did not end cleanly: ${message}${hint}\n`);
  if (!process.exitCode) process.exitCode = 1;
}

function endAll(status: RunStatus): Promise<unknown> {
  return Promise.all(
    [...active].map((run) => run.end(status).catch((error) => report(run, error))),
  );
}

function onBeforeExit(): void {
  void endAll("FINISHED");
}

function onExit(code: number): void {
  for (const run of [...active]) {
    try {
      run.endSync(code === 0 ? "FINISHED" : "FAILED");
    } catch (error) {
      report(run, error);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  void endAll("KILLED").finally(() => {
    uninstall();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function install(): void {
  process.on("beforeExit", onBeforeExit);
  process.on("exit", onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off("beforeExit", onBeforeExit);
  process.off("exit", onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/** Watches `run` until the returned function is called (when the run ends). */
export function trackLifecycle(run: Endable): () => void {
  if (active.size === 0) install();
  active.add(run);
  return () => {
    active.delete(run);
    if (active.size === 0) uninstall();
  };
}
