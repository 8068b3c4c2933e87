/**
 * The `mlflow server` of one pinned version that the run shares (its global set-up,
 * test/helpers/shared-mlflow-setup.ts, starts it on first use and stops it at the end). Files
 * sharing it see each other's data: they name their experiments, models and users uniquely (a
 * random suffix or a prefix of their own) and never stop, kill or slow it.
 */
import { inject } from "vitest";
import type { MlflowServer } from "./mlflow-server.ts";

export type SharedMlflowServer = Pick<MlflowServer, "url" | "version" | "dir" | "admin">;

/** `basicAuth`: MLflow's basic-auth app with a known admin (other users are the tests' own). */
export async function sharedMlflowServer(
  version: string,
  { basicAuth = false } = {},
): Promise<SharedMlflowServer> {
  const broker = inject("mlflowBroker");
  if (broker === undefined) {
    throw new Error(
      "no shared MLflow servers here: add test/helpers/shared-mlflow-setup.ts to the project's globalSetup",
    );
  }
  const query = basicAuth ? "?basic-auth" : "";
  const answer = await fetch(`${broker}/${encodeURIComponent(version)}${query}`, {
    signal: AbortSignal.timeout(600_000),
  });
  if (!answer.ok)
    throw new Error(`the shared MLflow ${version} server did not start: ${await answer.text()}`);
  return (await answer.json()) as SharedMlflowServer;
}
