/**
 * RestStore against real MLflow tracking servers (the pinned 3.x and 2.x): the shared store
 * contract, then what only a network store has: batch splitting, retries, timeouts, unreachable
 * servers, TLS, basic auth and error codes that survive the trip. Retry and timeout cases put a
 * small HTTP proxy of ours in front of the real server.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpConfig, RetryNotice } from "../../src/config.ts";
import type { Metric } from "../../src/entities.ts";
import {
  BATCH_LIMITS,
  type BatchRequest,
  requestBody,
  splitBatch,
} from "../../src/store/rest/batch.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { freePort } from "../helpers/mlflow-server.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { describeTrackingStore, expectMlflowError } from "../store-contract.ts";

/** Quick retries, so a failing test fails in seconds rather than minutes. */
const FAST: HttpConfig = { insecureTls: false, maxRetries: 2, backoffFactor: 0.05, timeout: 30 };
const T = 1_700_000_000_000;

/** Contract tests a real server cannot pass, with the server behaviour that prevents it. */
function contractSkips(version: string): Record<string, string> {
  const skips: Record<string, string> = {
    "metric history keeps logging order when timestamps go back":
      "the server keeps no logging order: get-history returns points sorted by (timestamp, step, value)",
    "a NaN at an equal (step, timestamp) neither wins nor loses: the first point stays":
      "the SQL store picks the latest metric comparing a NaN as 0 (is_nan column), so a later " +
      "point at the same (step, timestamp) with a larger value replaces a NaN",
    "getMetricHistorySampled keeps the first, the last and each stretch's extremes":
      "MLflow samples evenly spaced steps (AbstractStore._evenly_spaced_indices), so a spike " +
      "between two samples is not kept; mlruns keeps each stretch's lowest and highest point",
    "keys that clash as file and folder are rejected, in one batch and across batches":
      "the SQL store keeps keys as rows, so 'a' and 'a/b' coexist; RestStore rejects such a pair " +
      "within one batch, but seeing earlier batches would cost a getRun per logBatch",
    "a key that clashes with one already stored is refused in one wording":
      "the SQL store keeps keys as rows, so 'a' and 'a/b' coexist (see the test above)",
  };
  if (version.startsWith("2.")) {
    const reason =
      "MLflow 2.x has no delete-experiment-tag endpoint; RestStore reports ENDPOINT_NOT_FOUND " +
      "(tested below)";
    skips["setExperimentTag upserts and deleteExperimentTag removes"] = reason;
    skips["experiment tags cannot change on a deleted experiment"] = reason;
    skips["getMetricHistoryPage reads a history a page at a time, in logged order"] =
      "MLflow 2.x's get-history ignores max_results and page_token and answers every point at " +
      "once; RestStore passes that on as one page";
  }
  return skips;
}

// ---- a small proxy in front of the real server ------------------------------------------------

type Behaviour = "forward" | "hang" | { status: number; headers?: Record<string, string> };

interface Proxy {
  url: string;
  /** Requests seen, as `METHOD /path` (no query), with their bodies. */
  seen: { line: string; body: Buffer }[];
  count(pathPart: string): number;
  close(): Promise<void>;
}

/** Changes a request on its way to the server: its path with query, and its body. */
type Rewrite = (url: string, body: Buffer) => { url: string; body: Buffer };

async function startProxy(
  target: string,
  decide: (line: string, index: number) => Behaviour,
  options: { tls?: { key: Buffer; cert: Buffer }; rewrite?: Rewrite } = {},
): Promise<Proxy> {
  const { tls, rewrite } = options;
  const seen: Proxy["seen"] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const line = `${req.method} ${(req.url ?? "").split("?")[0]}`;
      const body = Buffer.concat(chunks);
      const index = seen.filter((s) => s.line === line).length;
      seen.push({ line, body });
      const behaviour = decide(line, index);
      if (behaviour === "hang") return;
      if (behaviour !== "forward") {
        res.writeHead(behaviour.status, { "Content-Type": "text/plain", ...behaviour.headers });
        res.end(`proxy says ${behaviour.status}`);
        return;
      }
      const sent = rewrite ? rewrite(req.url ?? "/", body) : { url: req.url ?? "/", body };
      const headers = { ...req.headers, host: new URL(target).host };
      if (headers["content-length"] !== undefined) {
        headers["content-length"] = String(sent.body.byteLength);
      }
      const upstream = http.request(
        new URL(sent.url, target),
        { method: req.method, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      upstream.end(sent.body);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    seen,
    count: (part) => seen.filter((s) => s.line.includes(part)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- pure: how a batch is split ----------------------------------------------------------------

describe("RestStore batch splitting (no server)", () => {
  const metrics = (n: number, key = "m"): Metric[] =>
    Array.from({ length: n }, (_, i) => ({ key, value: i / 3, timestamp: T + i, step: i }));

  it("keeps every request within MLflow's per-request limits and under 1 MB", () => {
    const params = Object.fromEntries(
      Array.from({ length: 250 }, (_, i) => [`p${i}`, "x".repeat(3000)]),
    );
    const tags = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [`t${i}`, "y".repeat(5000)]),
    );
    const requests = splitBatch({ metrics: metrics(2500), params, tags });
    for (const r of requests) {
      expect(r.metrics.length).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
      expect(r.params.length).toBeLessThanOrEqual(BATCH_LIMITS.params);
      expect(r.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.tags);
      expect(r.metrics.length + r.params.length + r.tags.length).toBeLessThanOrEqual(1000);
      const bytes = Buffer.byteLength(requestBody("x".repeat(32), r));
      expect(bytes).toBeLessThan(1024 * 1024);
    }
    expect(requests.flatMap((r) => r.metrics)).toHaveLength(2500);
    expect(requests.flatMap((r) => r.params)).toHaveLength(250);
    expect(requests.flatMap((r) => r.tags)).toHaveLength(150);
    // Params come first, so a param conflict stops the batch before metrics and tags.
    const firstWithMetrics = requests.findIndex((r) => r.metrics.length > 0);
    const lastWithParams = requests.findLastIndex((r) => r.params.length > 0);
    expect(lastWithParams).toBeLessThanOrEqual(firstWithMetrics);
  });

  it("sends a small batch as one request, identical points once, NaN and infinities as strings", () => {
    const point = { key: "m", value: 1, timestamp: T, step: 0 };
    const requests = splitBatch({
      metrics: [
        point,
        { ...point },
        { ...point, value: Number.NaN },
        { ...point, value: Number.POSITIVE_INFINITY, step: 1 },
        { ...point, value: Number.NEGATIVE_INFINITY, step: 2 },
      ],
      params: { a: "1" },
      tags: { b: "2" },
    });
    expect(requests).toHaveLength(1);
    const body = JSON.parse(requestBody("r1", requests[0] as BatchRequest));
    expect(body).toEqual({
      run_id: "r1",
      metrics: [1, "NaN", "Infinity", "-Infinity"].map((value, i) => ({
        key: "m",
        value,
        timestamp: T,
        step: Math.max(0, i - 1),
      })),
      params: [{ key: "a", value: "1" }],
      tags: [{ key: "b", value: "2" }],
    });
  });

  it("writes a point's dataset, escapes keys, and sends -0 and 0 at one step once", () => {
    const [request] = splitBatch({
      metrics: [
        { key: 'a "quoted"\\key', value: -0, timestamp: T, step: 3 },
        { key: 'a "quoted"\\key', value: 0, timestamp: T, step: 3 },
        { key: "m", value: 1e21, timestamp: T, step: 0, datasetName: "train", datasetDigest: "d1" },
      ],
    });
    expect(JSON.parse(requestBody("r1", request as BatchRequest)).metrics).toEqual([
      { key: 'a "quoted"\\key', value: 0, timestamp: T, step: 3 },
      { key: "m", value: 1e21, timestamp: T, step: 0, dataset_name: "train", dataset_digest: "d1" },
    ]);
  });

  it("sends nothing for an empty batch", () => {
    expect(splitBatch({})).toEqual([]);
  });
});

// ---- against real servers ----------------------------------------------------------------------

for (const version of Object.values(MLFLOW_VERSIONS)) {
  describe.skipIf(skipMlflow)(`RestStore on MLflow ${version}`, () => {
    let server: SharedMlflowServer | undefined;
    const url = () => {
      if (server === undefined) throw new Error("the MLflow server did not start");
      return server.url;
    };
    const store = (config: Partial<HttpConfig> = {}, base = url()) =>
      new RestStore(base, { ...FAST, ...config });
    const newRun = async (s: RestStore) => {
      const experimentId = await s.createExperiment(`rest-${randomUUID()}`);
      return (await s.createRun({ experimentId })).info.runId;
    };

    beforeAll(async () => {
      server = await sharedMlflowServer(version);
    });

    describeTrackingStore(
      `RestStore (MLflow ${version})`,
      async () => ({ store: new RestStore(url(), FAST) }),
      {
        skip: contractSkips(version),
        // The server's artifact proxy, under a path of our choosing: files land in its
        // --artifacts-destination folder.
        customArtifacts: {
          location: (label) => `mlflow-artifacts:/${label}`,
          stored: (uri, path) =>
            readFile(
              join(server?.dir ?? "", "artifacts", uri.slice("mlflow-artifacts:/".length), path),
            ).catch(() => undefined),
        },
      },
    );

    describe("log-batch limits", () => {
      it("splits 2500 metrics, 250 params and 150 tags into requests the server takes", async () => {
        const proxy = await startProxy(url(), () => "forward");
        try {
          const s = store({}, proxy.url);
          const runId = await newRun(s);
          const metrics = Array.from({ length: 2500 }, (_, i) => ({
            key: i % 2 ? "odd" : "even",
            value: i * 0.5,
            timestamp: T + i,
            step: i,
          }));
          const params = Object.fromEntries(
            Array.from({ length: 250 }, (_, i) => [`p${i}`, `${i}`]),
          );
          const tags = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`t${i}`, `${i}`]));
          await s.logBatch(runId, { metrics, params, tags });
          const batches = proxy.seen.filter((r) => r.line.endsWith("/runs/log-batch"));
          expect(batches.length).toBeGreaterThanOrEqual(3);
          for (const { body } of batches) {
            const json = JSON.parse(body.toString("utf8"));
            expect(json.metrics.length).toBeLessThanOrEqual(1000);
            expect(json.params.length).toBeLessThanOrEqual(100);
            expect(json.tags.length).toBeLessThanOrEqual(100);
            expect(json.metrics.length + json.params.length + json.tags.length).toBeLessThanOrEqual(
              1000,
            );
          }
          const run = await s.getRun(runId);
          expect(Object.keys(run.data.params)).toHaveLength(250);
          expect(run.data.params.p249).toBe("249");
          expect(Object.keys(run.data.tags).filter((k) => /^t\d+$/.test(k))).toHaveLength(150);
          expect(await s.getMetricHistory(runId, "even")).toHaveLength(1250);
          const odd = await s.getMetricHistory(runId, "odd");
          expect(odd).toHaveLength(1250);
          expect(odd.at(-1)).toEqual({
            key: "odd",
            value: 2499 * 0.5,
            timestamp: T + 2499,
            step: 2499,
          });
        } finally {
          await proxy.close();
        }
      });

      it("keeps request bodies under 1 MB and values intact", async () => {
        const proxy = await startProxy(url(), () => "forward");
        try {
          const s = store({}, proxy.url);
          const runId = await newRun(s);
          const params = Object.fromEntries(
            Array.from({ length: 100 }, (_, i) => [`p${i}`, `${i}`.padEnd(6000, "p")]),
          );
          const tags = Object.fromEntries(
            Array.from({ length: 100 }, (_, i) => [`t${i}`, `${i}`.padEnd(5000, "t")]),
          );
          await s.logBatch(runId, { params, tags });
          const batches = proxy.seen.filter((r) => r.line.endsWith("/runs/log-batch"));
          expect(batches.length).toBeGreaterThanOrEqual(2);
          for (const { body } of batches) expect(body.byteLength).toBeLessThan(1024 * 1024);
          const run = await s.getRun(runId);
          expect(run.data.params).toEqual(params);
          expect(run.data.tags).toMatchObject(tags);
        } finally {
          await proxy.close();
        }
      });

      it("checks a split batch up front: a changed param writes nothing", async () => {
        const s = store();
        const runId = await newRun(s);
        await s.logBatch(runId, { params: { p150: "old" } });
        const params = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, "new"]));
        const error = await expectMlflowError(
          s.logBatch(runId, { params, metrics: [{ key: "m", value: 1, timestamp: T, step: 0 }] }),
          "INVALID_PARAMETER_VALUE",
        );
        expect(error.message).toContain("p150");
        const run = await s.getRun(runId);
        expect(run.data.params).toEqual({ p150: "old" });
        expect(run.data.metrics).toEqual({});
      });

      it("sends again without the NaN points the server holds, reading its history a page at a time", async () => {
        // Servers before MLflow PR #24683 (2.x) refuse a NaN point sent again with BAD_REQUEST;
        // the proxy answers the first log-batch so, on every version.
        const historyUrls: string[] = [];
        const proxy = await startProxy(
          url(),
          (line, index) =>
            line.endsWith("/runs/log-batch") && index === 0 ? { status: 400 } : "forward",
          {
            rewrite: (path, body) => {
              if (path.includes("/metrics/get-history")) historyUrls.push(path);
              return { url: path, body };
            },
          },
        );
        try {
          const direct = store();
          const runId = await newRun(direct);
          const nan = { key: "m", value: Number.NaN, timestamp: T, step: 0 };
          const more = Array.from({ length: 2999 }, (_, i) => ({
            key: "m",
            value: i,
            timestamp: T + 1 + i,
            step: i + 1,
          }));
          await direct.logBatch(runId, { metrics: [nan, ...more] });
          const next = { key: "m", value: 1, timestamp: T + 5000, step: 5000 };
          await store({}, proxy.url).logBatch(runId, { metrics: [{ ...nan }, next] });
          // The first page of 1000 held the NaN point: the rest of the history was not read.
          expect(historyUrls).toHaveLength(1);
          const asked = new URL(historyUrls[0] ?? "", url()).searchParams;
          expect(asked.get("max_results")).toBe("1000");
          const history = await direct.getMetricHistory(runId, "m");
          expect(history).toHaveLength(3001);
          expect(history.filter((m) => Number.isNaN(m.value))).toHaveLength(1);
          expect(history.filter((m) => m.step === 5000)).toHaveLength(1);
        } finally {
          await proxy.close();
        }
      });
    });

    describe("paging and run updates", () => {
      it("follows page tokens of experiment search, run search and metric history", async () => {
        // Pages of two, by rewriting max_results on the way to the server.
        const prefix = `rest-pages-${randomUUID()}`;
        const proxy = await startProxy(url(), () => "forward", {
          rewrite: (path, body) => {
            if (path.includes("/metrics/get-history")) {
              return { url: path.replace(/max_results=\d+/, "max_results=2"), body };
            }
            if (!path.endsWith("/search")) return { url: path, body };
            const json = JSON.parse(body.toString("utf8"));
            // The server is shared: experiments other files create meanwhile would shift
            // MLflow's offset pages, so the experiment search sees this test's alone.
            const mine = path.endsWith("/experiments/search")
              ? { filter: `name LIKE '${prefix}%'` }
              : {};
            return {
              url: path,
              body: Buffer.from(JSON.stringify({ ...json, ...mine, max_results: 2 })),
            };
          },
        });
        try {
          const direct = store();
          const paged = store({}, proxy.url);
          const experimentId = await direct.createExperiment(prefix);
          const runIds: string[] = [];
          for (let i = 0; i < 5; i++) {
            runIds.push((await direct.createRun({ experimentId, startTime: T + i })).info.runId);
          }
          const metrics = [0, 1, 2, 3, 4].map((i) => ({
            key: "m",
            value: i,
            timestamp: T + i,
            step: i,
          }));
          await direct.logBatch(runIds[0] ?? "", { metrics });
          const listed = (await paged.listRuns([experimentId])).map((r) => r.info.runId);
          expect(listed.sort()).toEqual([...runIds].sort());
          expect(proxy.count("/runs/search")).toBe(3);
          expect(await paged.getMetricHistory(runIds[0] ?? "", "m")).toEqual(metrics);
          // MLflow 2 ignores max_results here and sends the whole history in one page.
          expect(proxy.count("/metrics/get-history")).toBeGreaterThanOrEqual(
            version.startsWith("2.") ? 1 : 3,
          );
          // Every experiment of this test once, across three pages.
          const experimentIds = [experimentId];
          for (let i = 1; i < 5; i++)
            experimentIds.push(await direct.createExperiment(`${prefix}-${i}`));
          const viaPages = (await paged.listExperiments("ALL")).map((e) => e.experimentId);
          expect(viaPages.sort()).toEqual(experimentIds.sort());
          expect(proxy.count("/experiments/search")).toBe(3);
        } finally {
          await proxy.close();
        }
      });

      it("clears the end time when a run is resumed", async () => {
        const s = store();
        const runId = await newRun(s);
        await s.updateRun(runId, { status: "FINISHED", endTime: T + 5 });
        const info = await s.updateRun(runId, { status: "RUNNING", endTime: null });
        expect(info).toMatchObject({ status: "RUNNING", endTime: null });
        expect((await s.getRun(runId)).info).toEqual(info);
      });
    });

    describe("errors from the server", () => {
      it("keeps the server's error code: RESOURCE_DOES_NOT_EXIST for an unknown run", async () => {
        const runId = randomUUID().replaceAll("-", "");
        const error = await expectMlflowError(store().getRun(runId), "RESOURCE_DOES_NOT_EXIST");
        expect(error.message).toContain(runId);
        expect(error.message).toContain("HTTP 404");
        await expectMlflowError(
          store().updateRun(runId, { status: "FINISHED" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
      });

      it("keeps RESOURCE_ALREADY_EXISTS for a duplicate experiment name", async () => {
        const name = `rest-dup-${randomUUID()}`;
        await store().createExperiment(name);
        await expectMlflowError(store().createExperiment(name), "RESOURCE_ALREADY_EXISTS");
      });

      it("explains artifacts that the server does not proxy", async () => {
        const s = store();
        const local = await mkdtemp(join(tmpdir(), "mlruns-rest-"));
        try {
          const experimentId = await s.createExperiment(`rest-noproxy-${randomUUID()}`, {
            artifactLocation: `file://${local}/elsewhere`,
          });
          const runId = (await s.createRun({ experimentId })).info.runId;
          await writeFile(join(local, "a.txt"), "a");
          const error = await expectMlflowError(
            s.logArtifact(runId, join(local, "a.txt")),
            "INVALID_PARAMETER_VALUE",
          );
          expect(error.message).toMatch(/does not proxy/);
          expect(error.hint).toMatch(/--serve-artifacts/);
        } finally {
          await rm(local, { recursive: true, force: true });
        }
      });

      it("refuses artifact names the proxy would mangle, before uploading anything", async () => {
        const s = store();
        const runId = await newRun(s);
        const local = await mkdtemp(join(tmpdir(), "mlruns-rest-"));
        try {
          await writeFile(join(local, "ok.txt"), "ok");
          await writeFile(join(local, "100%41.txt"), "pct");
          await expectMlflowError(s.logArtifact(runId, local), "INVALID_PARAMETER_VALUE");
          expect(await s.listArtifacts(runId)).toEqual([]);
        } finally {
          await rm(local, { recursive: true, force: true });
        }
      });

      if (version.startsWith("2.")) {
        it("explains that MLflow 2 cannot delete experiment tags", async () => {
          const s = store();
          const id = await s.createExperiment(`rest-tag-${randomUUID()}`, { tags: { a: "1" } });
          const error = await expectMlflowError(
            s.deleteExperimentTag(id, "a"),
            "ENDPOINT_NOT_FOUND",
          );
          expect(error.message).toContain(version);
          expect(error.message).toContain("delete-experiment-tag");
          expect((await s.getExperiment(id)).tags).toEqual({ a: "1" });
        });
      }
    });

    describe("retries and timeouts", () => {
      it("retries 503 (twice, once with Retry-After) and then succeeds", async () => {
        const proxy = await startProxy(url(), (line, i) => {
          if (!line.includes("/experiments/get")) return "forward";
          if (i === 0) return { status: 503, headers: { "Retry-After": "1" } };
          return i === 1 ? { status: 503 } : "forward";
        });
        try {
          const started = Date.now();
          const notices: RetryNotice[] = [];
          const experiment = await store(
            { maxRetries: 3, onRetry: (notice) => notices.push(notice) },
            proxy.url,
          ).getExperiment("0");
          expect(experiment.name).toBe("Default");
          expect(proxy.count("/experiments/get")).toBe(3);
          expect(Date.now() - started).toBeGreaterThanOrEqual(900);
          // Each retry is told first: what failed, why, which attempt comes and when.
          const told = { url: proxy.url, request: "GET /api/2.0/mlflow/experiments/get" };
          expect(notices).toEqual([
            {
              ...told,
              reason: "HTTP 503: proxy says 503",
              attempt: 2,
              attempts: 4,
              delayMs: 1000,
              laterMs: expect.any(Number),
            },
            {
              ...told,
              reason: "HTTP 503: proxy says 503",
              attempt: 3,
              attempts: 4,
              delayMs: expect.any(Number),
              laterMs: expect.any(Number),
            },
          ]);
          expect(notices[0]?.laterMs).toBeGreaterThan(notices[1]?.laterMs ?? Number.NaN);
        } finally {
          await proxy.close();
        }
      });

      it("retries a log-batch on 429 and 502", async () => {
        const proxy = await startProxy(url(), (line, i) => {
          if (!line.endsWith("/runs/log-batch")) return "forward";
          return i === 0 ? { status: 429 } : i === 1 ? { status: 502 } : "forward";
        });
        try {
          const s = store({ maxRetries: 3 }, proxy.url);
          const runId = await newRun(s);
          await s.logBatch(runId, { params: { p: "1" } });
          expect((await s.getRun(runId)).data.params).toEqual({ p: "1" });
          expect(proxy.count("/runs/log-batch")).toBe(3);
        } finally {
          await proxy.close();
        }
      });

      it("gives up after maxRetries with the status and attempt count", async () => {
        const proxy = await startProxy(url(), () => ({ status: 503 }));
        try {
          const error = await expectMlflowError(
            store({ maxRetries: 2 }, proxy.url).getExperiment("0"),
            "TEMPORARILY_UNAVAILABLE",
          );
          expect(error.message).toMatch(/HTTP 503.*after 3 attempts/);
          expect(proxy.count("/experiments/get")).toBe(3);
        } finally {
          await proxy.close();
        }
      });

      it("does not repeat a create the server may have carried out", async () => {
        const proxy = await startProxy(url(), (line, i) =>
          line.endsWith("/experiments/create") && i === 0 ? { status: 502 } : "forward",
        );
        try {
          const name = `rest-once-${randomUUID()}`;
          await expectMlflowError(store({ maxRetries: 3 }, proxy.url).createExperiment(name));
          expect(proxy.count("/experiments/create")).toBe(1);
        } finally {
          await proxy.close();
        }
      });

      it("times out a hanging request with a clear error", async () => {
        const proxy = await startProxy(url(), () => "hang");
        try {
          const started = Date.now();
          const error = await expectMlflowError(
            store({ timeout: 1, maxRetries: 1 }, proxy.url).getExperiment("0"),
            "TEMPORARILY_UNAVAILABLE",
          );
          expect(error.message).toContain(proxy.url);
          expect(error.message).toMatch(/no response .* within 1 s/);
          expect(error.message).toContain("2 attempts");
          expect(error.hint).toContain("mlruns sync");
          expect(Date.now() - started).toBeLessThan(10_000);
        } finally {
          await proxy.close();
        }
      });
    });
  });
}

// ---- no server, or an unusual one --------------------------------------------------------------

describe("RestStore without a reachable server", () => {
  it("names the URL, says the connection was refused and hints at offline logging", async () => {
    const port = await freePort();
    const store = new RestStore(`http://127.0.0.1:${port}/prefix/`, { ...FAST, maxRetries: 1 });
    expect(store.uri).toBe(`http://127.0.0.1:${port}/prefix`);
    const error = await expectMlflowError(store.listExperiments(), "TEMPORARILY_UNAVAILABLE");
    expect(error.message).toContain(`http://127.0.0.1:${port}/prefix`);
    expect(error.message).toMatch(/connection refused/);
    expect(error.message).toContain("2 attempts");
    expect(error.hint).toMatch(/local tree.*mlruns sync/);
  });

  it("says when the host name does not resolve", async () => {
    const store = new RestStore("http://mlruns-no-such-host.invalid", { ...FAST, maxRetries: 0 });
    const error = await expectMlflowError(store.getExperiment("0"), "TEMPORARILY_UNAVAILABLE");
    expect(error.message).toMatch(/DNS lookup of 'mlruns-no-such-host.invalid' failed/);
  });

  it("never puts credentials in error messages", async () => {
    const port = await freePort();
    const secret = "s3cr3t-passw0rd";
    for (const store of [
      new RestStore(`http://alice:${secret}@127.0.0.1:${port}`, { ...FAST, maxRetries: 0 }),
      new RestStore(`http://127.0.0.1:${port}`, {
        ...FAST,
        maxRetries: 0,
        username: "alice",
        password: secret,
      }),
      new RestStore(`http://127.0.0.1:${port}`, { ...FAST, maxRetries: 0, token: secret }),
    ]) {
      expect(store.uri).not.toContain(secret);
      const error = await expectMlflowError(store.getRun("0".repeat(32)));
      const everything = [error.message, error.hint, String(error.cause), error.stack].join("\n");
      expect(everything).not.toContain(secret);
    }
  });

  it("refuses insecure TLS together with a CA bundle", () => {
    expect(
      () =>
        new RestStore("https://127.0.0.1", { ...FAST, insecureTls: true, serverCertPath: "/x" }),
    ).toThrow(/mutually exclusive/);
  });
});

// ---- TLS and basic auth, against the newest server ----------------------------------------------

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(skipMlflow)("RestStore over TLS and basic auth", () => {
  for (const version of Object.values(MLFLOW_VERSIONS)) {
    describe(`basic-auth app of MLflow ${version}`, () => {
      let server: SharedMlflowServer | undefined;
      const admin = () => {
        if (server?.admin === undefined) throw new Error("the basic-auth server did not start");
        return { url: server.url, ...server.admin };
      };
      beforeAll(async () => {
        server = await sharedMlflowServer(version, { basicAuth: true });
      });

      it("works with good credentials, from the config or the URL", async () => {
        const { url, username, password } = admin();
        const store = new RestStore(url, { ...FAST, username, password });
        const experimentId = await store.createExperiment(`auth-${randomUUID()}`);
        const run = await store.createRun({ experimentId, userId: "admin" });
        await store.logBatch(run.info.runId, {
          metrics: [{ key: "m", value: 1, timestamp: T, step: 0 }],
        });
        const dir = await mkdtemp(join(tmpdir(), "mlruns-auth-"));
        try {
          await writeFile(join(dir, "f.txt"), "auth");
          await store.logArtifact(run.info.runId, join(dir, "f.txt"));
          const bytes = await store.readArtifact(run.info.runId, "f.txt");
          expect(Buffer.from(bytes).toString()).toBe("auth");
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        const inUrl = url.replace("http://", `http://${username}:${encodeURIComponent(password)}@`);
        const viaUrl = new RestStore(inUrl, FAST);
        expect(viaUrl.uri).not.toContain(password);
        expect((await viaUrl.getExperiment(experimentId)).experimentId).toBe(experimentId);
      });

      it("answers bad, missing and bearer credentials with UNAUTHENTICATED", async () => {
        const { url, username } = admin();
        const wrong = "wrong-password-123";
        for (const config of [{ username, password: wrong }, {}, { token: "some-token-value" }]) {
          const error = await expectMlflowError(
            new RestStore(url, { ...FAST, ...config }).listExperiments(),
            "UNAUTHENTICATED",
          );
          expect(error.message).toContain("HTTP 401");
          expect(error.hint).toMatch(/MLFLOW_TRACKING_USERNAME/);
          expect(`${error.message}${error.hint}`).not.toContain(wrong);
        }
      });

      it("answers a write without permission with PERMISSION_DENIED", async () => {
        const { url, username, password } = admin();
        const user = `reader${randomUUID().slice(0, 8)}`;
        const userPassword = "reader-password-1234";
        const created = await fetch(`${url}/api/2.0/mlflow/users/create`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
          },
          body: JSON.stringify({ username: user, password: userPassword }),
        });
        expect(created.status).toBe(200);
        const reader = new RestStore(url, { ...FAST, username: user, password: userPassword });
        const error = await expectMlflowError(
          reader.createRun({ experimentId: "0" }),
          "PERMISSION_DENIED",
        );
        expect(error.message).toContain("HTTP 403");
        expect(error.message).not.toContain(userPassword);
      });
    });
  }

  describe.skipIf(!hasOpenssl)("TLS (a self-signed proxy in front of MLflow)", () => {
    let proxy: Proxy | undefined;
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mlruns-tls-"));
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
          ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
          ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        ],
        { stdio: "ignore" },
      );
      const server = await sharedMlflowServer(MLFLOW_VERSIONS.latest);
      proxy = await startProxy(server.url, () => "forward", {
        tls: {
          key: await readFile(join(dir, "key.pem")),
          cert: await readFile(join(dir, "cert.pem")),
        },
      });
    });
    afterAll(async () => {
      await proxy?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("refuses an untrusted certificate, explaining the TLS options", async () => {
      const store = new RestStore(proxy?.url ?? "", FAST);
      const error = await expectMlflowError(store.getExperiment("0"), "TEMPORARILY_UNAVAILABLE");
      expect(error.message).toMatch(/TLS/);
      expect(error.message).toContain("1 attempt");
      expect(error.hint).toMatch(/MLFLOW_TRACKING_SERVER_CERT_PATH/);
    });

    it("trusts the server through a CA bundle, or with checks turned off", async () => {
      const trusted = new RestStore(proxy?.url ?? "", {
        ...FAST,
        serverCertPath: join(dir, "cert.pem"),
      });
      expect((await trusted.getExperiment("0")).name).toBe("Default");
      const insecure = new RestStore(proxy?.url ?? "", { ...FAST, insecureTls: true });
      expect((await insecure.getExperiment("0")).name).toBe("Default");
    });
  });
});
