/**
 * The `mlflow server` of one pinned version that the run shares (test/helpers/shared-mlflow-setup.ts
 * starts it on first use and stops it at the end). Files sharing it see each other's data: they
 * name their experiments and models uniquely (a random suffix or a prefix of their own) and
 * never stop, kill or slow it.
 */
import { inject } from "vitest";
import type { MlflowServer } from "./mlflow-server.ts";

export type SharedMlflowServer = Pick<MlflowServer, "url" | "version" | "dir">;

export async function sharedMlflowServer(version: string): Promise<SharedMlflowServer> {
  const broker = inject("mlflowBroker");
  if (broker === undefined) {
    throw new Error(
      "no shared MLflow servers here: add test/helpers/shared-mlflow-setup.ts to the project's globalSetup",
    );
  }
  const answer = await fetch(`${broker}/${encodeURIComponent(version)}`, {
    signal: AbortSignal.timeout(600_000),
  });
  if (!answer.ok)
    throw new Error(`the shared MLflow ${version} server did not start: ${await answer.text()}`);
  return (await answer.json()) as SharedMlflowServer;
}
