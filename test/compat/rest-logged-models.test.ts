/**
 * RestStore's logged models against real MLflow servers: the logged-models contract on the
 * pinned 3.x, and on 2.x (which has no logged-models endpoints) one clear error for every call.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { HttpConfig } from "../../src/config.ts";
import { isMlflowError } from "../../src/errors.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { describeLoggedModelStore } from "../logged-models-contract.ts";

const FAST: HttpConfig = { insecureTls: false, maxRetries: 2, backoffFactor: 0.05, timeout: 30 };

describe.skipIf(skipMlflow)(`RestStore logged models on MLflow ${MLFLOW_VERSIONS.latest}`, () => {
  let server: SharedMlflowServer | undefined;
  beforeAll(async () => {
    server = await sharedMlflowServer(MLFLOW_VERSIONS.latest);
  });

  const store = () => {
    if (server === undefined) throw new Error("the MLflow server did not start");
    return new RestStore(server.url, FAST);
  };

  describeLoggedModelStore(
    `RestStore (MLflow ${MLFLOW_VERSIONS.latest})`,
    async () => ({ store: store() }),
    {
      skip: {
        "tags with '/' in their key are set and deleted":
          "MLflow's delete-tag route (logged-models/<id>/tags/<key>) takes the key as one path " +
          "segment, so such a key cannot be deleted over REST; RestStore says so (tested below)",
        "searches by status":
          "MLflow's SQL store keeps the status as an integer and compares it with the filter's " +
          "string, so status = 'READY' matches nothing",
      },
    },
  );

  it("deleting a tag whose key holds '/' is refused with a hint", async () => {
    const s = store();
    const experimentId = await s.createExperiment(`lm-${randomUUID()}`);
    const { modelId } = await s.loggedModels.createLoggedModel({ experimentId });
    await s.loggedModels.setLoggedModelTags(modelId, { "a/b": "x" });
    const error = await s.loggedModels.deleteLoggedModelTag(modelId, "a/b").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMlflowError(error, "ENDPOINT_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toContain("cannot delete the logged model tag 'a/b'");
    expect((await s.loggedModels.getLoggedModel(modelId)).tags).toEqual({ "a/b": "x" });
  });
});

describe.skipIf(skipMlflow)(`RestStore logged models on MLflow ${MLFLOW_VERSIONS.v2}`, () => {
  let server: SharedMlflowServer | undefined;
  beforeAll(async () => {
    server = await sharedMlflowServer(MLFLOW_VERSIONS.v2);
  });

  it("every call fails with ENDPOINT_NOT_FOUND naming the server's version and MLflow 3", async () => {
    if (server === undefined) throw new Error("the MLflow server did not start");
    const store = new RestStore(server.url, FAST);
    const experimentId = await store.createExperiment(`lm-${randomUUID()}`);
    const runId = (await store.createRun({ experimentId })).info.runId;
    const modelId = `m-${"a".repeat(32)}`;
    const calls: [string, () => Promise<unknown>][] = [
      ["create", () => store.loggedModels.createLoggedModel({ experimentId })],
      ["get", () => store.loggedModels.getLoggedModel(modelId)],
      ["search", () => store.loggedModels.searchLoggedModels({ experimentIds: [experimentId] })],
      ["finalize", () => store.loggedModels.finalizeLoggedModel(modelId, "READY")],
      ["tags", () => store.loggedModels.setLoggedModelTags(modelId, { a: "1" })],
      ["params", () => store.loggedModels.logLoggedModelParams(modelId, { a: "1" })],
      ["delete", () => store.loggedModels.deleteLoggedModel(modelId)],
      ["outputs", () => store.loggedModels.logRunOutputs(runId, [{ modelId, step: 0 }])],
    ];
    for (const [what, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isMlflowError(error, "ENDPOINT_NOT_FOUND"), what).toBe(true);
      const { message, hint } = error as { message: string; hint?: string };
      expect(message, what).toContain(`version ${MLFLOW_VERSIONS.v2}`);
      expect(message, what).toContain("has no logged models");
      expect(hint, what).toContain("MLflow 3");
    }
  });
});
