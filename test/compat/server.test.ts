/**
 * `mlruns server` proven with MLflow's own Python client, 3.17.2 and 2.22.5, unmodified: one
 * session script (server_client.py) runs against our server and against MLflow's own
 * `mlflow server` over a file store. What the client read back must be the same, and so must the
 * trees both servers leave, read through MLflow's file-store reader (apart from ids, times and
 * artifact URIs), and the artifact files on disk.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/index.ts";
import { MLFLOW_VERSIONS, REPO_ROOT, runPython, skipMlflow } from "../helpers/mlflow-env.ts";
import { startMlflowServer } from "../helpers/mlflow-server.ts";
import { type Dump, mlflowDump } from "./dump.ts";

const SESSION = join(REPO_ROOT, "test", "compat", "server_client.py");

/** Runs the session against `url`; returns what the client read back. */
async function session(version: string, url: string, dir: string): Promise<unknown> {
  const transcript = join(dir, `transcript-${Math.random().toString(16).slice(2)}.json`);
  await runPython(version, SESSION, [transcript], {
    env: { MLFLOW_TRACKING_URI: url },
    cwd: dir,
  });
  const read = JSON.parse(await readFile(transcript, "utf8")) as { history: Json[] };
  return { ...read, history: once(read.history) };
}

type Json = unknown;

/**
 * A metric history without repeated identical points. MLflow 3's `log_model` sends the run's
 * first metric point again (with the model's id): MLflow's file store appends it a second time,
 * mlruns keeps one (two identical lines make `mlflow migrate-filestore` abort).
 */
function once<T>(points: T[]): T[] {
  const seen = new Set<string>();
  return points.filter((p) => {
    const id = JSON.stringify(p);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
interface LoggedModelDump {
  model_id: string;
  name: string;
  [key: string]: Json;
}
type FullDump = Dump & { logged_models?: LoggedModelDump[] };

const TIME_KEYS = new Set([
  "creation_time",
  "last_update_time",
  "start_time",
  "end_time",
  "creation_timestamp",
  "last_updated_timestamp",
  "timestamp",
  "artifact_uri",
  "artifact_location",
]);

/**
 * A dump with its ids replaced by names (`<run:parent>`, `<experiment:spare-renamed>`,
 * `<model:model>`), times and artifact URIs left out, metric timestamps dropped, lists keyed by
 * what they hold, and the log-model history without its per-call fields.
 */
function normalize(dump: FullDump): Json {
  const names = new Map<string, string>();
  for (const e of dump.experiments) {
    if (e.experiment_id !== "0") names.set(e.experiment_id, `<experiment:${e.name}>`);
  }
  for (const r of dump.runs) names.set(r.info.run_id, `<run:${r.info.run_name}>`);
  for (const m of dump.logged_models ?? []) names.set(m.model_id, `<model:${m.name}>`);
  let text = JSON.stringify(dump);
  for (const [id, name] of names) text = text.replaceAll(id, name);
  const cleaned = JSON.parse(text, (key, value: Json) => {
    if (TIME_KEYS.has(key)) return undefined;
    if (key === "mlflow.log-model.history" && typeof value === "string") {
      return (JSON.parse(value) as Record<string, Json>[]).map(
        ({ utc_time_created: _t, model_uuid: _u, ...entry }) => entry,
      );
    }
    return value;
  }) as FullDump;
  for (const run of cleaned.runs as unknown as { metric_history: Record<string, Json[][]> }[]) {
    // [timestamp, value, step] → [value, step]: times differ between two sessions.
    for (const key of Object.keys(run.metric_history)) {
      run.metric_history[key] = once(run.metric_history[key] ?? []).map((point) => point.slice(1));
    }
  }
  for (const model of cleaned.logged_models ?? []) {
    model.metrics = (model.metrics as Json[][]).map((m) => [m[0], m[1], m[2], m[4], m[5], m[6]]);
  }
  const byName = <T>(items: T[], name: (item: T) => string) =>
    [...items].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  return {
    ...cleaned,
    experiments: byName(cleaned.experiments, (e) => e.name),
    runs: byName(cleaned.runs, (r) => r.info.run_name),
    ...(cleaned.logged_models
      ? { logged_models: byName(cleaned.logged_models, (m) => m.name) }
      : {}),
  };
}

/** Every file under `dir` as `path size` (MLmodel without size: it holds ids and times). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const rel = relative(dir, path);
        out.push(entry.name === "MLmodel" ? rel : `${rel} ${(await stat(path)).size}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

/** The artifact files of every run and logged model, keyed by run or model name. */
async function artifactFiles(root: string, dump: FullDump): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const run of dump.runs) {
    const dir = join(root, run.info.experiment_id, run.info.run_id, "artifacts");
    out[`run:${run.info.run_name}`] = await filesUnder(dir);
  }
  for (const model of dump.logged_models ?? []) {
    const dir = join(root, String(model.experiment_id), "models", model.model_id, "artifacts");
    out[`model:${model.name}`] = await filesUnder(dir);
  }
  return out;
}

for (const version of Object.values(MLFLOW_VERSIONS)) {
  const mlflow3 = version.startsWith("3.");
  describe.skipIf(skipMlflow)(`MLflow ${version}'s client against mlruns server`, () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `mlruns-server-compat-${version}-`));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("reads back what MLflow's own server gives, and leaves the tree MLflow's server leaves", async () => {
      const ours = join(dir, "ours");
      const theirs = join(dir, "theirs");
      const server = await startServer({ root: ours, port: 0, log: () => {} });
      let oursTranscript: unknown;
      try {
        oursTranscript = await session(version, server.url, dir);
      } finally {
        await server.close();
      }
      const mlflow = await startMlflowServer({ version, fileStore: theirs, readyTimeout: 120 });
      let theirsTranscript: unknown;
      try {
        theirsTranscript = await session(version, mlflow.url, dir);
      } finally {
        await mlflow.stop();
      }
      expect(oursTranscript).toEqual(theirsTranscript);
      expect(oursTranscript).toMatchObject({
        prediction: [2, 3],
        champion: ["1", "Staging", { quality: "good" }],
        pages: [
          ["child-0.1", "child-0.2"],
          ["ended-FAILED", "ended-KILLED"],
          ["parent", "restored"],
        ],
      });

      const options = { artifacts: false, loggedModels: mlflow3 };
      const [oursDump, theirsDump] = (await Promise.all([
        mlflowDump(version, ours, options),
        mlflowDump(version, theirs, options),
      ])) as [FullDump, FullDump];
      expect(oursDump.runs.length).toBe(7);
      expect(normalize(oursDump)).toEqual(normalize(theirsDump));
      const [oursFiles, theirsFiles] = await Promise.all([
        artifactFiles(ours, oursDump),
        artifactFiles(theirs, theirsDump),
      ]);
      expect(oursFiles["run:parent"]).toContain("plots/deep/empty.txt 0");
      expect(oursFiles).toEqual(theirsFiles);
    });
  });
}
