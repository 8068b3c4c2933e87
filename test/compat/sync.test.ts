/**
 * Sync against the newest MLflow 3 server (sync-suite.ts; sync-v2.test.ts runs it on 2.x), and
 * against MLflow's basic-auth app.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { sync } from "../../src/sync/index.ts";
import { LEDGER_FILE } from "../../src/tree-files.ts";
import { MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { fast, quiet, syncToServer, tree } from "./sync-suite.ts";

syncToServer(MLFLOW_VERSIONS.latest);

describe.skipIf(skipMlflow)("sync to MLflow's basic-auth app", () => {
  // Shared with other files: this describe's experiments are authed and read-only, its user
  // reader-<random> and its model reader-model.
  let server: SharedMlflowServer;
  beforeAll(async () => {
    server = await sharedMlflowServer(MLFLOW_VERSIONS.latest, { basicAuth: true });
  });

  it("pushes with credentials, refuses without, and never writes them down", async () => {
    const root = await tree();
    const source = new FileStore(root, quiet);
    const experimentId = await source.createExperiment("authed");
    const run = await source.createRun({ experimentId, runName: "secret-run" });
    await source.logBatch(run.info.runId, {
      metrics: [{ key: "m", value: 1, timestamp: 1, step: 0 }],
    });
    const admin = server.admin ?? { username: "", password: "" };
    await expect(
      sync({ source, target: new RestStore(server.url, { ...fast, maxRetries: 0 }) }),
    ).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    const target = new RestStore(server.url, {
      ...fast,
      username: admin.username,
      password: admin.password,
    });
    const report = await sync({ source, target });
    expect(report.issues).toEqual([]);
    expect(report.counts.created).toBe(1);
    const ledger = await readFile(join(root, LEDGER_FILE), "utf8");
    expect(ledger).not.toContain(admin.password);
    expect(JSON.stringify(report)).not.toContain(admin.password);
    const again = await sync({ source, target });
    expect(again.counts).toMatchObject({ created: 0, unchanged: 1 });
  });

  it("reports a version whose run the server refused, and goes on", async () => {
    const admin = server.admin ?? { username: "", password: "" };
    const reader = `reader-${randomUUID().slice(0, 8)}`;
    const asAdmin = new RestStore(server.url, { ...fast, ...admin });
    await asAdmin.createExperiment("read-only");
    // A user who may only read (the server's default permission).
    const created = await fetch(`${server.url}/api/2.0/mlflow/users/create`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString("base64")}`,
      },
      body: JSON.stringify({ username: reader, password: "reader-password-1234" }),
    });
    expect(created.status).toBe(200);
    const asReader = new RestStore(server.url, {
      ...fast,
      username: reader,
      password: "reader-password-1234",
    });

    const root = await tree();
    const source = new FileStore(root, quiet);
    const experimentId = await source.createExperiment("read-only");
    const run = await source.createRun({ experimentId, runName: "refused" });
    await source.registry.createRegisteredModel("reader-model");
    await source.registry.createModelVersion({
      name: "reader-model",
      source: `runs:/${run.info.runId}/model`,
      runId: run.info.runId,
    });
    for (const attempt of [1, 2]) {
      const report = await sync({ source, target: asReader });
      expect(report.counts, `sync ${attempt}`).toMatchObject({ created: 0, failed: 1 });
      expect(report.issues).toContainEqual(
        expect.objectContaining({ sourceRunId: run.info.runId, what: "run" }),
      );
      expect(report.issues).toContainEqual({
        what: "model reader-model version 1",
        message: `its run ${run.info.runId} is not on the target; sync that run first`,
      });
    }
    const { versions } = await asAdmin.registry.searchModelVersions({
      filter: "name = 'reader-model'",
    });
    expect(versions).toEqual([]);
  });
});
