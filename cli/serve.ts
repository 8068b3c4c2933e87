/**
 * What `mlruns server` and `mlruns ui` share: starting the server (a port in use is a usage
 * error, warnings in colour on stderr) and running until SIGINT or SIGTERM, then stopping
 * gracefully (requests in flight finish, the search index is saved).
 */
import type { RunningServer, ServerOptions } from "mlruns";
import { UsageError } from "./errors.ts";
import { e, note } from "./output.ts";

export async function listen(options: Omit<ServerOptions, "log">): Promise<RunningServer> {
  const port = options.port ?? 5000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Invalid port ${port}`);
  }
  const { startServer } = await import("mlruns");
  return startServer({
    ...options,
    log: (line) => note(line.startsWith("warning") ? e.yellow(line) : line),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EADDRINUSE") {
      throw new UsageError(
        `Port ${port} is in use`,
        "Choose another with --port, or --port 0 for any free one",
      );
    }
    throw error;
  });
}

/** Resolves once a signal has stopped the server. */
export function untilStopped(running: RunningServer, name: string): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      note(`${name}: ${signal}, finishing requests in flight`);
      running.close().then(done, (error: unknown) => {
        note(`${name}: ${(error as Error).message}`);
        done();
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
