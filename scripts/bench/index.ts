/**
 * `npm run bench`: our code and MLflow on the same data, on this machine, in one run; prints
 * the figures and their ratios. Each section is a module of its own; name sections to run only
 * those (`npm run bench -- sync`).
 */
import { artifactsBench } from "./artifacts.ts";
import { bigTreeBench } from "./bigtree.ts";
import { bundleBench } from "./bundle.ts";
import { cliBench } from "./cli.ts";
import { historiesBench } from "./histories.ts";
import { loggingBench } from "./logging.ts";
import { longSyncBench } from "./long-sync.ts";
import { ensureMlflow } from "./mlflow.ts";
import { printTable, type Row } from "./report.ts";
import { searchBench } from "./search.ts";
import { serverBench } from "./server.ts";
import { syncBench } from "./sync.ts";
import { syncPostgresBench } from "./sync-postgres.ts";
import { uiBench } from "./ui.ts";

const SECTIONS: Record<string, [string, () => Promise<Row[]>]> = {
  logging: ["Metric logging (FileStore vs MLflow's file store)", loggingBench],
  histories: ["One long run (10 M points) and its histories", historiesBench],
  "long-sync": [
    "One long run (10 M points) pushed to and pulled from a real mlflow server",
    longSyncBench,
  ],
  search: ["Search (FileStore.searchRuns vs MLflow search_runs)", searchBench],
  bigtree: [
    "Big trees (mlruns runs list, cold and through a server, vs MLflow on SQLite)",
    bigTreeBench,
  ],
  sync: ["Sync to a real MLflow server (sync vs MlflowClient.log_batch)", syncBench],
  "sync-postgres": [
    "Sync to mlflow server --workers 4 on PostgreSQL (sync vs 1 and 8 MlflowClient.log_batch clients)",
    syncPostgresBench,
  ],
  cli: ["Command line (mlruns vs mlflow)", cliBench],
  ui: ["Web UI in headless Chromium (mlruns ui)", uiBench],
  artifacts: [
    "Artifact uploads to object-store emulators (ours vs MLflow's repositories)",
    artifactsBench,
  ],
  bundle: ["Bundles (export and import vs GNU tar on the same tree)", bundleBench],
  server: ["Tracking server, MLflow's Python client (mlruns server vs mlflow server)", serverBench],
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(
    `unknown section(s) ${unknown.join(", ")}; choose from ${Object.keys(SECTIONS).join(", ")}`,
  );
  process.exit(2);
}
await ensureMlflow();
for (const [name, [title, run]] of Object.entries(SECTIONS)) {
  if (wanted.length === 0 || wanted.includes(name)) printTable(title, await run());
}
