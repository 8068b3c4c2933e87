/** Runs: create, get, update, delete, restore, search, and what is logged into them. */

import { type Metric, RUN_STATUSES, type Run } from "../../entities.ts";
import { invalid } from "../../errors.ts";
import { appendModelHistory } from "../../model-history.ts";
import { runNotActive } from "../../store/checks.ts";
import { loggedModelsOf, type TrackingStore } from "../../store/store.ts";
import { runInfoToJson, runToJson } from "../../wire/tracking.ts";
import { runArtifactUri } from "../artifact-uris.ts";
import {
  double,
  int64,
  keyValue,
  type Message,
  message,
  missingField,
  oneOf,
  repeated,
  required,
  type Schema,
  string,
  toRecord,
} from "../message.ts";
import type { Handler, RequestContext } from "../router.ts";
import { VIEW_TYPES } from "./experiments.ts";

/** A run as clients see it: with its artifact URI at the server's proxy. */
export function runJson(run: Run) {
  return runToJson({ ...run, info: { ...run.info, artifactUri: runArtifactUri(run.info) } });
}

/** `run_id`, or the legacy `run_uuid` MLflow still accepts in its place. */
const RUN = { run_id: string, run_uuid: string };

export async function readRun<S extends Schema>(
  ctx: RequestContext,
  schema: S,
): Promise<Message<S> & { runId: string }> {
  const m = await ctx.read({ ...RUN, ...schema });
  const runId = (m.run_id as string | undefined) || (m.run_uuid as string | undefined);
  if (!runId) throw missingField("run_id");
  return { ...(m as Message<S>), runId };
}

export const createRun: Handler = async ({ read, store }) => {
  const m = await read({
    experiment_id: string,
    user_id: string,
    run_name: string,
    start_time: int64,
    tags: repeated(keyValue),
  });
  const run = await store.createRun({
    experimentId: m.experiment_id || "0",
    ...(m.user_id !== undefined ? { userId: m.user_id } : {}),
    ...(m.run_name ? { runName: m.run_name } : {}),
    ...(m.start_time !== undefined ? { startTime: m.start_time } : {}),
    tags: toRecord(m.tags),
  });
  return { run: runJson(run) };
};

/** A run as clients see it, with MLflow 3's links to logged models where the store keeps them. */
async function runWithLinks(store: TrackingStore, run: Run) {
  const json = runJson(run);
  const links = await store.loggedModels?.runModelLinks(run.info.runId);
  if (links?.inputs.length) {
    json.inputs = { ...json.inputs, model_inputs: links.inputs.map((id) => ({ model_id: id })) };
  }
  if (links?.outputs.length) {
    json.outputs = {
      model_outputs: links.outputs.map((o) => ({ model_id: o.modelId, step: o.step })),
    };
  }
  return json;
}

export const getRun: Handler = async (ctx) => {
  const { runId } = await readRun(ctx, {});
  return { run: await runWithLinks(ctx.store, await ctx.store.getRun(runId)) };
};

export const updateRun: Handler = async (ctx) => {
  const m = await readRun(ctx, { status: oneOf(RUN_STATUSES), end_time: int64, run_name: string });
  const info = await ctx.store.updateRun(m.runId, {
    ...(m.status !== undefined ? { status: m.status } : {}),
    ...(m.end_time !== undefined ? { endTime: m.end_time } : {}),
    ...(m.run_name !== undefined ? { runName: m.run_name } : {}),
  });
  return { run_info: runInfoToJson({ ...info, artifactUri: runArtifactUri(info) }) };
};

export const deleteRun: Handler = async (ctx) => {
  await ctx.store.deleteRun((await readRun(ctx, {})).runId);
  return {};
};

export const restoreRun: Handler = async (ctx) => {
  await ctx.store.restoreRun((await readRun(ctx, {})).runId);
  return {};
};

export const searchRuns: Handler = async ({ read, store }) => {
  const m = await read({
    experiment_ids: repeated(string),
    filter: string,
    run_view_type: oneOf(VIEW_TYPES),
    max_results: int64,
    order_by: repeated(string),
    page_token: string,
  });
  const found = await store.searchRuns({
    experimentIds: m.experiment_ids ?? [],
    viewType: m.run_view_type ?? "ACTIVE_ONLY",
    filter: m.filter,
    orderBy: m.order_by,
    maxResults: m.max_results,
    pageToken: m.page_token || undefined,
  });
  return {
    ...(found.runs.length > 0
      ? { runs: await Promise.all(found.runs.map((run) => runWithLinks(store, run))) }
      : {}),
    ...(found.nextPageToken ? { next_page_token: found.nextPageToken } : {}),
  };
};

// ---- logging ----

const METRIC = {
  key: required(string),
  value: required(double),
  timestamp: required(int64),
  step: int64,
  dataset_name: string,
  dataset_digest: string,
  model_id: string,
};

export function toMetric(m: Message<typeof METRIC>): Metric {
  const metric: Metric = { key: m.key, value: m.value, timestamp: m.timestamp, step: m.step ?? 0 };
  if (m.dataset_name && m.dataset_digest) {
    metric.datasetName = m.dataset_name;
    metric.datasetDigest = m.dataset_digest;
  }
  return metric;
}

/** Points logged with a model_id also go to that logged model, as MLflow's stores do. */
async function logModelMetrics(
  store: TrackingStore,
  runId: string,
  metrics: Message<typeof METRIC>[],
): Promise<void> {
  const byModel = new Map<string, Metric[]>();
  for (const m of metrics) {
    if (!m.model_id) continue;
    byModel.set(m.model_id, [...(byModel.get(m.model_id) ?? []), toMetric(m)]);
  }
  for (const [modelId, points] of byModel) {
    await loggedModelsOf(store).logLoggedModelMetrics(modelId, runId, points);
  }
}

export const logMetric: Handler = async (ctx) => {
  const m = await readRun(ctx, METRIC);
  await ctx.store.logBatch(m.runId, { metrics: [toMetric(m)] });
  await logModelMetrics(ctx.store, m.runId, [m]);
  return {};
};

export const logParam: Handler = async (ctx) => {
  const m = await readRun(ctx, { key: required(string), value: string });
  await ctx.store.logBatch(m.runId, { params: { [m.key]: m.value ?? "" } });
  return {};
};

export const setTag: Handler = async (ctx) => {
  const m = await readRun(ctx, { key: required(string), value: string });
  await ctx.store.logBatch(m.runId, { tags: { [m.key]: m.value ?? "" } });
  return {};
};

export const deleteTag: Handler = async (ctx) => {
  const m = await readRun(ctx, { key: required(string) });
  await ctx.store.deleteTag(m.runId, m.key);
  return {};
};

/** MLflow's per-request limits of log-batch. */
const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

function checkBatchSize(what: string, count: number, limit: number): void {
  if (count > limit) {
    throw invalid(
      `A batch logging request can contain at most ${limit} ${what}. Got ${count} ${what}. ` +
        `Please split up ${what} across multiple requests and try again.`,
    );
  }
}

export const logBatch: Handler = async (ctx) => {
  const m = await readRun(ctx, {
    metrics: repeated(message(METRIC)),
    params: repeated(keyValue),
    tags: repeated(keyValue),
  });
  const metrics = m.metrics ?? [];
  const params = m.params ?? [];
  const tags = m.tags ?? [];
  checkBatchSize("metrics", metrics.length, BATCH_LIMITS.metrics);
  checkBatchSize("params", params.length, BATCH_LIMITS.params);
  checkBatchSize("tags", tags.length, BATCH_LIMITS.tags);
  checkBatchSize(
    "metrics, params, and tags",
    metrics.length + params.length + tags.length,
    BATCH_LIMITS.total,
  );
  const keys = params.map((p) => p.key);
  const duplicates = [...new Set(keys.filter((key, i) => keys.indexOf(key) !== i))];
  if (duplicates.length > 0) {
    throw invalid(
      `Duplicate parameter keys have been submitted: [${duplicates.map((k) => `'${k}'`).join(", ")}]. ` +
        "Please ensure the request contains only one param value per param key.",
    );
  }
  await ctx.store.logBatch(m.runId, {
    metrics: metrics.map(toMetric),
    params: toRecord(params),
    tags: toRecord(tags),
  });
  await logModelMetrics(ctx.store, m.runId, metrics);
  return {};
};

const DATASET = message({
  name: required(string),
  digest: required(string),
  source_type: required(string),
  source: required(string),
  schema: string,
  profile: string,
});

export const logInputs: Handler = async (ctx) => {
  const m = await readRun(ctx, {
    datasets: repeated(message({ tags: repeated(keyValue), dataset: required(DATASET) })),
    models: repeated(message({ model_id: required(string) })),
  });
  if (m.models?.length) {
    await loggedModelsOf(ctx.store).logRunModelInputs(
      m.runId,
      m.models.map((model) => model.model_id),
    );
  }
  await ctx.store.logInputs(
    m.runId,
    (m.datasets ?? []).map(({ tags, dataset }) => ({
      tags: toRecord(tags),
      dataset: {
        name: dataset.name,
        digest: dataset.digest,
        sourceType: dataset.source_type,
        source: dataset.source,
        schema: dataset.schema ?? null,
        profile: dataset.profile ?? null,
      },
    })),
  );
  return {};
};

/** MLflow 2's record of a model logged in a run: appended to `mlflow.log-model.history`. */
export const logModel: Handler = async (ctx) => {
  const m = await readRun(ctx, { model_json: required(string) });
  let model: unknown;
  try {
    model = JSON.parse(m.model_json);
  } catch {
    throw invalid(`Malformed model info. \n ${m.model_json} \n is not a valid JSON.`);
  }
  const fields =
    model !== null && typeof model === "object" ? (model as Record<string, unknown>) : {};
  const missing = ["artifact_path", "flavors", "utc_time_created", "run_id"].filter(
    (key) => !(key in fields),
  );
  if (missing.length > 0) {
    throw invalid(
      `Model json is missing mandatory fields: {${missing.map((k) => `'${k}'`).join(", ")}}`,
    );
  }
  // What MLflow keeps of it (Model.get_tags_dict): ids, path, time, and flavors without config.
  const flavors = Object.fromEntries(
    Object.entries((fields.flavors ?? {}) as Record<string, unknown>).map(([name, config]) => {
      if (config === null || typeof config !== "object" || Array.isArray(config))
        return [name, config];
      const { config: _, ...kept } = config as Record<string, unknown>;
      return [name, kept];
    }),
  );
  const { runId } = m;
  const run = await ctx.store.getRun(runId);
  if (run.info.lifecycleStage !== "active") throw runNotActive(runId);
  await appendModelHistory(ctx.store, runId, {
    run_id: fields.run_id,
    artifact_path: fields.artifact_path,
    utc_time_created: fields.utc_time_created,
    model_uuid: fields.model_uuid ?? null,
    flavors,
  });
  return {};
};
