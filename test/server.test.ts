/**
 * `mlruns server` over HTTP, request by request: MLflow's JSON shapes, its errors and statuses,
 * and the checks in front of every route. The real clients (RestStore, Python's mlflow) are in
 * server-store.test.ts and compat/server*.test.ts.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../src/store/file/index.ts";
import { INDEX_FILE } from "../src/tree-files.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";

const API = "/api/2.0/mlflow";

describe("mlruns server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const post = (path: string, json: unknown) => server.call("POST", `${API}${path}`, { json });
  const get = (path: string) => server.call("GET", `${API}${path}`);

  describe("about itself", () => {
    it("answers /health with OK and /version with the MLflow version it speaks for", async () => {
      const health = await server.call("GET", "/health");
      expect([health.status, health.text]).toEqual([200, "OK"]);
      const version = await server.call("GET", "/version");
      expect(version.text).toMatch(/^3\.\d+\.\d+$/);
      expect(version.headers["x-mlruns-version"]).toMatch(/^\d+\.\d+\.\d+/);
    });

    it("says it is a file store in server-info", async () => {
      const info = await server.call("GET", "/api/3.0/mlflow/server-info");
      expect(info.json()).toMatchObject({ store_type: "FileStore", workspaces_enabled: false });
    });
  });

  describe("MLflow's JSON", () => {
    it("shows experiments with proxied artifact locations and keeps file:// URIs in the tree", async () => {
      const created = await post("/experiments/create", {
        name: "json-shapes",
        tags: [{ key: "team", value: "vision" }],
      });
      const { experiment_id: id } = created.json() as { experiment_id: string };
      expect(id).toMatch(/^\d{18}$/);
      const got = (await get(`/experiments/get?experiment_id=${id}`)).json() as {
        experiment: Record<string, unknown>;
      };
      expect(got.experiment).toEqual({
        experiment_id: id,
        name: "json-shapes",
        artifact_location: `mlflow-artifacts:/${id}`,
        lifecycle_stage: "active",
        creation_time: expect.any(Number),
        last_update_time: expect.any(Number),
        tags: [{ key: "team", value: "vision" }],
      });
      const meta = await readFile(join(server.root, id, "meta.yaml"), "utf8");
      expect(meta).toContain(`artifact_location: 'file://${server.root}/${id}'`);
      const byName = await get(`/experiments/get-by-name?experiment_name=json-shapes`);
      expect(
        (byName.json() as { experiment: { experiment_id: string } }).experiment.experiment_id,
      ).toBe(id);
      // The same route under /ajax-api, as MLflow's UI calls it.
      const ajax = await server.call(
        "GET",
        `/ajax-api/2.0/mlflow/experiments/get?experiment_id=${id}`,
      );
      expect(ajax.json()).toEqual(got);
    });

    it("omits unset fields and empty lists, and writes NaN as a string", async () => {
      const run = (
        (
          await post("/runs/create", { experiment_id: "0", run_name: "shape", start_time: 1000 })
        ).json() as {
          run: { info: Record<string, unknown> };
        }
      ).run;
      const runId = run.info.run_id as string;
      expect(run).toEqual({
        info: {
          run_uuid: runId,
          run_id: runId,
          run_name: "shape",
          experiment_id: "0",
          user_id: "unknown",
          status: "RUNNING",
          start_time: 1000,
          artifact_uri: `mlflow-artifacts:/0/${runId}/artifacts`,
          lifecycle_stage: "active",
        },
        data: { tags: [{ key: "mlflow.runName", value: "shape" }] },
        inputs: {},
        outputs: {},
      });
      const logged = await post("/runs/log-batch", {
        run_id: runId,
        metrics: [
          { key: "loss", value: "NaN", timestamp: 5, step: 1 },
          { key: "acc", value: 0.5, timestamp: "6" },
        ],
        params: [{ key: "lr", value: "0.1" }],
      });
      expect([logged.status, logged.json()]).toEqual([200, {}]);
      const data = ((await get(`/runs/get?run_id=${runId}`)).json() as { run: { data: unknown } })
        .run.data;
      expect(data).toEqual({
        metrics: expect.arrayContaining([
          { key: "loss", value: "NaN", timestamp: 5, step: 1 },
          { key: "acc", value: 0.5, timestamp: 6, step: 0 },
        ]),
        params: [{ key: "lr", value: "0.1" }],
        tags: [{ key: "mlflow.runName", value: "shape" }],
      });
      const history = (await get(`/metrics/get-history?run_id=${runId}&metric_key=loss`)).json();
      expect(history).toEqual({ metrics: [{ key: "loss", value: "NaN", timestamp: 5, step: 1 }] });
      const ended = await post("/runs/update", {
        run_id: runId,
        status: "FINISHED",
        end_time: 2000,
      });
      expect(ended.json()).toMatchObject({ run_info: { status: "FINISHED", end_time: 2000 } });
    });

    it("answers an empty search with {}", async () => {
      const found = await post("/runs/search", {
        experiment_ids: ["0"],
        filter: "params.nothing = 'here'",
      });
      expect([found.status, found.json()]).toEqual([200, {}]);
    });
  });

  describe("MLflow's errors", () => {
    it("names a missing required field", async () => {
      const reply = await post("/experiments/create", {});
      expect(reply.status).toBe(400);
      expect(reply.json()).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message:
          "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
      });
    });

    it("refuses a field of the wrong type, with Python's name of the type", async () => {
      const reply = await post("/runs/create", { experiment_id: 0 });
      expect(reply.status).toBe(400);
      expect((reply.json() as { message: string }).message).toContain(
        "Invalid value 0 for parameter 'experiment_id' supplied: Hint: Value was of type 'int'.",
      );
    });

    it("refuses a whole batch with one bad metric, writing none of it", async () => {
      const run = (await post("/runs/create", { experiment_id: "0" })).json() as {
        run: { info: { run_id: string } };
      };
      const runId = run.run.info.run_id;
      const reply = await post("/runs/log-batch", {
        run_id: runId,
        metrics: [
          { key: "ok1", value: 1, timestamp: 1 },
          { key: "bad", value: 1, timestamp: 2.5 },
          { key: "ok2", value: 1, timestamp: 3 },
        ],
      });
      expect(reply.status).toBe(400);
      expect((reply.json() as { message: string }).message).toContain("'metrics[1].timestamp'");
      const data = (await get(`/runs/get?run_id=${runId}`)).json() as { run: { data: object } };
      expect(data.run.data).not.toHaveProperty("metrics");
    });

    it("answers malformed JSON, a missing Content-Type and a non-object body with 400", async () => {
      const malformed = await server.call("POST", `${API}/experiments/create`, {
        body: '{"name": ',
        headers: { "Content-Type": "application/json" },
      });
      expect(malformed.status).toBe(400);
      expect(malformed.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
      const untyped = await server.call("POST", `${API}/experiments/create`, {
        body: '{"name": "x"}',
      });
      expect(untyped.json()).toMatchObject({
        message: "Bad Request. Content-Type header is missing.",
      });
      const list = await post("/experiments/create", ["x"]);
      expect(list.status).toBe(400);
    });

    it("gives MLflow's codes and statuses for missing things", async () => {
      const run = await get(`/runs/get?run_id=${"f".repeat(32)}`);
      expect(run.status).toBe(404);
      expect(run.json()).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });
      const byName = await get("/experiments/get-by-name?experiment_name=nope");
      expect(byName.json()).toEqual({
        error_code: "RESOURCE_DOES_NOT_EXIST",
        message: "Could not find experiment with name 'nope'",
      });
      await post("/experiments/create", { name: "twice" });
      const twice = await post("/experiments/create", { name: "twice" });
      expect(twice.status).toBe(400);
      expect(twice.json()).toMatchObject({ error_code: "RESOURCE_ALREADY_EXISTS" });
    });

    it("answers unknown routes with 404 and a wrong method with 405, as JSON", async () => {
      const unknown = await get("/no/such/route");
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ error_code: "ENDPOINT_NOT_FOUND" });
      const wrong = await server.call("DELETE", `${API}/runs/get`);
      expect(wrong.status).toBe(405);
      expect(wrong.headers.allow).toBe("GET");
    });
  });

  describe("artifacts", () => {
    const PROXY = "/api/2.0/mlflow-artifacts/artifacts";
    const newRun = async () => {
      const reply = await post("/runs/create", { experiment_id: "0" });
      return (reply.json() as { run: { info: { run_id: string } } }).run.info.run_id;
    };

    it("uploads, lists, downloads and deletes through the proxy, into the run's folder", async () => {
      const runId = await newRun();
      const root = `${PROXY}/0/${runId}/artifacts`;
      const put = await server.call("PUT", `${root}/plots/loss%20curve.txt`, { body: "down" });
      expect([put.status, put.json()]).toEqual([200, {}]);
      const onDisk = join(server.root, "0", runId, "artifacts", "plots", "loss curve.txt");
      expect(await readFile(onDisk, "utf8")).toBe("down");
      const got = await server.call("GET", `${root}/plots/loss%20curve.txt`);
      expect([got.status, got.text, got.headers["content-type"]]).toEqual([
        200,
        "down",
        "text/plain",
      ]);
      expect(got.headers["content-disposition"]).toMatch(
        /^attachment; filename\*=UTF-8''loss%20curve\.txt$/,
      );
      const listed = await server.call("GET", `${PROXY}?path=0/${runId}/artifacts/plots`);
      expect(listed.json()).toEqual({
        files: [{ path: "loss curve.txt", is_dir: false, file_size: 4 }],
      });
      const runList = await get(`/artifacts/list?run_id=${runId}&path=plots`);
      expect(runList.json()).toEqual({
        root_uri: `mlflow-artifacts:/0/${runId}/artifacts`,
        files: [{ path: "plots/loss curve.txt", is_dir: false, file_size: 4 }],
      });
      const ui = await server.call(
        "GET",
        `/get-artifact?run_uuid=${runId}&path=plots/loss%20curve.txt`,
      );
      expect(ui.text).toBe("down");
      const deleted = await server.call("DELETE", `${root}/plots`);
      expect(deleted.status).toBe(200);
      expect((await get(`/artifacts/list?run_id=${runId}`)).json()).toEqual({
        root_uri: `mlflow-artifacts:/0/${runId}/artifacts`,
      });
    });

    it("takes an upload far larger than the JSON limit, and leaves no temp file", async () => {
      const small = await startTestServer({ maxBodyBytes: 1024 });
      try {
        const created = await small.call("POST", `${API}/runs/create`, {
          json: { experiment_id: "0" },
        });
        const runId = (created.json() as { run: { info: { run_id: string } } }).run.info.run_id;
        const big = Buffer.alloc(5 << 20, 1);
        const put = await small.call("PUT", `${PROXY}/0/${runId}/artifacts/big.bin`, { body: big });
        expect(put.status).toBe(200);
        const back = await small.call("GET", `${PROXY}/0/${runId}/artifacts/big.bin`);
        expect(back.body.equals(big)).toBe(true);
        const json = await small.call("POST", `${API}/experiments/create`, {
          json: { name: "x".repeat(2000) },
        });
        expect(json.status).toBe(413);
        expect(json.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
        const runDir = join(small.root, "0", runId);
        const { readdir } = await import("node:fs/promises");
        expect((await readdir(runDir)).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
      } finally {
        await small.stop();
      }
    });

    it("never leaves the run's artifacts: dot segments, encoded slashes, absolute paths", async () => {
      const runId = await newRun();
      await writeFile(join(server.root, "0", runId, "meta.yaml.bak"), "not an artifact");
      const root = `${PROXY}/0/${runId}/artifacts`;
      for (const path of [
        `${root}/../meta.yaml`,
        `${root}/%2e%2e/meta.yaml`,
        `${root}/%2E%2E/%2E%2E/0/meta.yaml`,
        `${root}/..%2fmeta.yaml`,
        `${root}/a%5c..%5c..%5cmeta.yaml`,
        `${root}/%00`,
      ]) {
        const got = await server.call("GET", path);
        expect(got.status, path).toBe(400);
        const put = await server.call("PUT", path, { body: "overwrite" });
        expect(put.status, path).toBe(400);
      }
      const list = await server.call("GET", `${PROXY}?path=0/${runId}/artifacts/../..`);
      expect(list.status).toBe(400);
      const runList = await get(`/artifacts/list?run_id=${runId}&path=../`);
      expect(runList.status).toBe(400);
      const ui = await server.call("GET", `/get-artifact?run_id=${runId}&path=/etc/passwd`);
      expect(ui.status).toBe(400);
      expect(await readFile(join(server.root, "0", runId, "meta.yaml"), "utf8")).toContain(
        "run_id",
      );
    });

    it("never follows a symbolic link out of the run's artifacts", async () => {
      const runId = await newRun();
      const outside = await mkdtemp(join(tmpdir(), "mlruns-outside-"));
      try {
        await writeFile(join(outside, "secret.txt"), "secret");
        const artifacts = join(server.root, "0", runId, "artifacts");
        await mkdir(artifacts, { recursive: true });
        await symlink(outside, join(artifacts, "linked"));
        await symlink(join(outside, "secret.txt"), join(artifacts, "secret.txt"));
        const root = `${PROXY}/0/${runId}/artifacts`;
        for (const path of [`${root}/linked/secret.txt`, `${root}/secret.txt`]) {
          const got = await server.call("GET", path);
          expect(got.status, path).toBe(400);
          expect(got.text).not.toContain('secret"');
        }
        const put = await server.call("PUT", `${root}/linked/planted.txt`, { body: "x" });
        expect(put.status).toBe(400);
        const listed = await server.call("GET", `${PROXY}?path=0/${runId}/artifacts/linked`);
        expect(listed.json()).toEqual({});
        await expect(readFile(join(outside, "planted.txt"))).rejects.toThrow();
        expect(await readFile(join(outside, "secret.txt"), "utf8")).toBe("secret");
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    });

    it("answers paths that name no run's artifacts with 404", async () => {
      for (const path of [`${PROXY}/0/meta.yaml`, `${PROXY}/0/${"a".repeat(32)}/artifacts/x`]) {
        const got = await server.call("GET", path);
        expect(got.status, path).toBe(404);
        expect(got.json()).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });
      }
    });

    it("keeps a custom file: location's artifacts where its experiment says", async () => {
      const elsewhere = await mkdtemp(join(tmpdir(), "mlruns-custom-"));
      try {
        const location = pathToFileURL(join(elsewhere, "store")).href;
        const created = await post("/experiments/create", {
          name: "custom-location",
          artifact_location: location,
        });
        const id = (created.json() as { experiment_id: string }).experiment_id;
        const experiment = (await get(`/experiments/get?experiment_id=${id}`)).json();
        expect(experiment).toMatchObject({
          experiment: { artifact_location: `mlflow-artifacts:/${id}` },
        });
        const run = await post("/runs/create", { experiment_id: id });
        const runId = (run.json() as { run: { info: { run_id: string } } }).run.info.run_id;
        await server.call("PUT", `${PROXY}/${id}/${runId}/artifacts/a.txt`, { body: "a" });
        expect(await readFile(join(elsewhere, "store", runId, "artifacts", "a.txt"), "utf8")).toBe(
          "a",
        );
        const proxied = await post("/experiments/create", {
          name: "proxied-location",
          artifact_location: "mlflow-artifacts:/somewhere",
        });
        expect(proxied.status).toBe(400);
      } finally {
        await rm(elsewhere, { recursive: true, force: true });
      }
    });
  });

  describe("the model registry", () => {
    const newRun = async () => {
      const reply = await post("/runs/create", { experiment_id: "0" });
      return (reply.json() as { run: { info: { run_id: string } } }).run.info.run_id;
    };

    it("keeps a version's source as sent, and shows its files at the proxy", async () => {
      const runId = await newRun();
      await post("/registered-models/create", { name: "served" });
      const source = `mlflow-artifacts:/0/${runId}/artifacts/model`;
      const created = await post("/model-versions/create", {
        name: "served",
        source,
        run_id: runId,
      });
      expect(created.json()).toMatchObject({
        model_version: { name: "served", version: "1", source, run_id: runId, status: "READY" },
      });
      const meta = await readFile(
        join(server.root, "models", "served", "version-1", "meta.yaml"),
        "utf8",
      );
      expect(meta).toContain(
        `storage_location: 'file://${server.root}/0/${runId}/artifacts/model'`,
      );
      const runs = await post("/model-versions/create", {
        name: "served",
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
      expect(runs.status).toBe(200);
      for (const version of ["1", "2"]) {
        const uri = await get(`/model-versions/get-download-uri?name=served&version=${version}`);
        expect(uri.json()).toEqual({
          artifact_uri: `mlflow-artifacts:/0/${runId}/artifacts/model`,
        });
      }
    });

    it("refuses sources outside the run they name, as MLflow does", async () => {
      const runId = await newRun();
      const other = await newRun();
      await post("/registered-models/create", { name: "guarded" });
      for (const body of [
        { source: "/etc", run_id: runId },
        { source: `file://${server.root}/0/${runId}/artifacts/../../..`, run_id: runId },
        { source: `runs:/${other}/model`, run_id: runId },
        { source: `runs:/${runId}/model` },
        { source: `mlflow-artifacts:/0/${other}/artifacts/model`, run_id: runId },
        { source: `mlflow-artifacts:/0/${runId}/artifacts/%2e%2e/%2e%2e/x`, run_id: runId },
      ]) {
        const reply = await post("/model-versions/create", { name: "guarded", ...body });
        expect(reply.status, JSON.stringify(body)).toBe(400);
        expect((reply.json() as { message: string }).message).toContain(
          "Invalid model version source",
        );
      }
      const inside = await post("/model-versions/create", {
        name: "guarded",
        source: `${server.root}/0/${runId}/artifacts/model`,
        run_id: runId,
      });
      expect(inside.status).toBe(200);
      const versions = await get("/model-versions/search?filter=name%3D%27guarded%27");
      expect((versions.json() as { model_versions: unknown[] }).model_versions).toHaveLength(1);
    });

    it("takes a prompt's version with MLflow's placeholder source only, and no run", async () => {
      const prompt = [{ key: "mlflow.prompt.is_prompt", value: "true" }];
      await post("/registered-models/create", { name: "prompt", tags: prompt });
      const tags = [...prompt, { key: "mlflow.prompt.text", value: "Hi {{who}}" }];
      const created = await post("/model-versions/create", {
        name: "prompt",
        source: "dummy-source",
        tags,
      });
      expect(created.status).toBe(200);
      expect(created.json()).toMatchObject({
        model_version: { version: "1", source: "dummy-source" },
      });
      const other = await post("/model-versions/create", { name: "prompt", source: "/etc", tags });
      expect(other.status).toBe(400);
      expect(other.json()).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: "Invalid prompt source: '/etc'. Prompt sources must use an MLflow placeholder.",
      });
    });

    it("records MLflow 2's logged models in the run's history tag", async () => {
      const runId = await newRun();
      const model = {
        run_id: runId,
        artifact_path: "model",
        utc_time_created: "2024-01-01 00:00:00.000000",
        model_uuid: "u1",
        flavors: { python_function: { loader_module: "m", config: { x: 1 } } },
      };
      const reply = await post("/runs/log-model", {
        run_id: runId,
        model_json: JSON.stringify(model),
      });
      expect(reply.status).toBe(200);
      const run = (await get(`/runs/get?run_id=${runId}`)).json() as {
        run: { data: { tags: { key: string; value: string }[] } };
      };
      const history = run.run.data.tags.find((t) => t.key === "mlflow.log-model.history");
      expect(history?.value).toBe(
        `[{"run_id": "${runId}", "artifact_path": "model", "utc_time_created": "2024-01-01 00:00:00.000000", "model_uuid": "u1", "flavors": {"python_function": {"loader_module": "m"}}}]`,
      );
      const bad = await post("/runs/log-model", { run_id: runId, model_json: '{"flavors": {}}' });
      expect((bad.json() as { message: string }).message).toContain("missing mandatory fields");
    });
  });

  describe("the checks in front of every route", () => {
    it("refuses a Host that is not this server (DNS rebinding), but not for /health", async () => {
      const evil = await server.call("GET", `${API}/experiments/get?experiment_id=0`, {
        headers: { Host: "attacker.example:5000" },
      });
      expect(evil.status).toBe(403);
      expect((evil.json() as { message: string }).message).toContain("DNS rebinding");
      const health = await server.call("GET", "/health", { headers: { Host: "attacker.example" } });
      expect(health.status).toBe(200);
      const local = await server.call("GET", `${API}/experiments/get?experiment_id=0`, {
        headers: { Host: `localhost:${server.port}` },
      });
      expect(local.status).toBe(200);
    });

    it("refuses writes from another origin, and takes them from its own", async () => {
      const other = await server.call("POST", `${API}/experiments/create`, {
        json: { name: "from-elsewhere" },
        headers: { Origin: "http://attacker.example" },
      });
      expect(other.status).toBe(403);
      const same = await server.call("POST", `${API}/experiments/create`, {
        json: { name: "from-here" },
        headers: { Origin: `http://127.0.0.1:${server.port}` },
      });
      expect(same.status).toBe(200);
      const names = (
        (await post("/experiments/search", { max_results: 100 })).json() as {
          experiments: { name: string }[];
        }
      ).experiments.map((e) => e.name);
      expect(names).toContain("from-here");
      expect(names).not.toContain("from-elsewhere");
    });

    it("refuses dot segments and encoded slashes in paths", async () => {
      for (const path of [
        `${API}/runs/../experiments/get?experiment_id=0`,
        `${API}/%2e%2e/experiments/get?experiment_id=0`,
        `${API}/runs%2fget?run_id=x`,
      ]) {
        const reply = await server.call("GET", path);
        expect(reply.status, path).toBe(400);
      }
    });
  });
});

describe("start-up", () => {
  it("loads the search index as soon as it listens, before any client searches", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-warm-"));
    const root = join(dir, "mlruns");
    try {
      const store = new FileStore(root);
      const experimentId = await store.createExperiment("warm");
      await store.createRun({ experimentId });
      await store.close();
      await rm(join(root, INDEX_FILE), { force: true });
      const server = await startTestServer({ root });
      try {
        // Only a search writes the index file: here the server's own, with no request sent.
        await expect.poll(() => existsSync(join(root, INDEX_FILE)), { timeout: 10_000 }).toBe(true);
        expect(server.log).toEqual([]);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("a read-only server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ readOnly: true });
  });
  afterAll(() => server?.stop());

  it("refuses every write and still answers searches sent by POST", async () => {
    const create = await server.call("POST", `${API}/experiments/create`, { json: { name: "x" } });
    expect(create.status).toBe(403);
    expect(create.json()).toMatchObject({ error_code: "PERMISSION_DENIED" });
    const search = await server.call("POST", `${API}/experiments/search`, {
      json: { max_results: 10 },
    });
    expect(search.status).toBe(200);
    expect((search.json() as { experiments: unknown[] }).experiments).toHaveLength(1);
  });
});

describe("a server with credentials", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      credentials: { username: "ada", password: "s3cret-pass", token: "tok-123" },
    });
  });
  afterAll(() => server?.stop());
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const search = (authorization?: string) =>
    server.call("POST", `${API}/experiments/search`, {
      json: { max_results: 10 },
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });

  it("takes MLflow's basic credentials or bearer token, and refuses anything else", async () => {
    expect((await search(basic("ada", "s3cret-pass"))).status).toBe(200);
    expect((await search("Bearer tok-123")).status).toBe(200);
    for (const wrong of [
      undefined,
      basic("ada", "nope"),
      basic("eve", "s3cret-pass"),
      "Bearer x",
    ]) {
      const reply = await search(wrong);
      expect(reply.status, String(wrong)).toBe(401);
      expect(reply.json()).toMatchObject({ error_code: "UNAUTHENTICATED" });
      expect(reply.headers["www-authenticate"]).toBe('Basic realm="mlruns"');
      expect(reply.text).not.toContain("s3cret");
    }
  });

  it("leaves /health open, and says in its discovery file that it wants credentials", async () => {
    expect((await server.call("GET", "/health")).status).toBe(200);
    expect((await server.call("GET", "/version")).status).toBe(401);
    const discovery = await readFile(join(server.root, ".mlruns-server.json"), "utf8");
    expect(JSON.parse(discovery)).toMatchObject({ url: server.url, auth: true });
    expect(discovery).not.toMatch(/ada|s3cret|tok-123/);
  });
});

describe("exposure", () => {
  it("warns when it listens beyond this machine without credentials", async () => {
    const open = await startTestServer({ host: "0.0.0.0" });
    const closed = await startTestServer({ host: "0.0.0.0", credentials: { token: "t" } });
    try {
      expect(open.log.join("\n")).toMatch(/warning: listening on 0\.0\.0\.0 without credentials/);
      expect(closed.log).toEqual([]);
    } finally {
      await open.stop();
      await closed.stop();
    }
  });
});
