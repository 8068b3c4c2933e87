/**
 * Ends runs when the process does: FINISHED when the event loop drains (as MLflow's atexit hook
 * does), KILLED on SIGINT or SIGTERM, after which the signal is raised again so the process
 * exits as it would have. Listeners exist only while some run is active.
 */
import type { RunStatus } from "../entities.ts";

interface Endable {
  end(status?: RunStatus): Promise<unknown>;
}

const active = new Set<Endable>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function endAll(status: RunStatus): Promise<unknown> {
  return Promise.allSettled([...active].map((run) => run.end(status)));
}

function onBeforeExit(): void {
  void endAll("FINISHED");
}

function onSignal(signal: NodeJS.Signals): void {
  void endAll("KILLED").finally(() => {
    uninstall();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function install(): void {
  process.on("beforeExit", onBeforeExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off("beforeExit", onBeforeExit);
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
