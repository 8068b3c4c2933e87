/**
 * Ends runs when the process does: FINISHED when the event loop drains (as MLflow's atexit hook
 * does); on `process.exit()` (or an uncaught exception) synchronously, FINISHED for exit code 0
 * and FAILED otherwise; KILLED on SIGINT or SIGTERM, after which the signal is raised again so
 * the process exits as it would have. A run that cannot be ended cleanly (points the store
 * refused, a store that cannot write while exiting) is reported on stderr and the exit code
 * becomes 1. Then exit hooks run (a local-first tracker's last push), each once. Listeners exist
 * only while some run is active or some hook is registered.
 */
import type { RunStatus } from "../entities.ts";
import { isMlflowError } from "../errors.ts";

interface Endable {
  readonly id: string;
  end(status?: RunStatus): Promise<unknown>;
  endSync(status: RunStatus): void;
}

/** Work to finish when the process ends, after its runs have ended. */
export interface ExitHook {
  /** When the event loop drains or on a signal: may take a while (bounded by the hook). */
  finish(): Promise<void>;
  /** On `process.exit()`: must be done when it returns. */
  finishSync(): void;
}

const active = new Set<Endable>();
const hooks = new Set<ExitHook>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let installed = false;

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

/** Runs every hook once; a hook never stops the others or the way out. */
async function finishHooks(): Promise<void> {
  for (const hook of [...hooks]) {
    // Kept until finished: an exit meanwhile still runs its synchronous half.
    await hook.finish().catch(() => {});
    hooks.delete(hook);
  }
  update();
}

function onBeforeExit(): void {
  void endAll("FINISHED").then(finishHooks);
}

function onExit(code: number): void {
  for (const run of [...active]) {
    try {
      run.endSync(code === 0 ? "FINISHED" : "FAILED");
    } catch (error) {
      report(run, error);
    }
  }
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook.finishSync();
    } catch {
      // Nothing may stop the way out.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  void endAll("KILLED")
    .then(finishHooks)
    .finally(() => {
      uninstall();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
}

function install(): void {
  installed = true;
  process.on("beforeExit", onBeforeExit);
  process.on("exit", onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  installed = false;
  process.off("beforeExit", onBeforeExit);
  process.off("exit", onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/** Listens while there is something to do at the end. */
function update(): void {
  const wanted = active.size > 0 || hooks.size > 0;
  if (wanted && !installed) install();
  else if (!wanted && installed) uninstall();
}

/** Watches `run` until the returned function is called (when the run ends). */
export function trackLifecycle(run: Endable): () => void {
  active.add(run);
  update();
  return () => {
    active.delete(run);
    update();
  };
}

/** Runs `hook` when the process ends, unless the returned function is called first. */
export function onProcessEnd(hook: ExitHook): () => void {
  hooks.add(hook);
  update();
  return () => {
    hooks.delete(hook);
    update();
  };
}
