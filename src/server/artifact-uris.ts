/**
 * Artifact URIs at the edge. The tree keeps the `file://` URIs that MLflow's file store and our
 * tools resolve; clients are shown `mlflow-artifacts:/…` URIs instead, so that they upload and
 * download through this server's artifact proxy, from any machine. The proxy path names the run
 * (or logged model) whose artifacts it means, and the store finds where they are on disk:
 *
 *   mlflow-artifacts:/<experiment id>/<run id>/artifacts/<path>
 *   mlflow-artifacts:/<experiment id>/models/<model id>/artifacts/<path>
 *
 * Artifacts an experiment keeps in a bucket (`s3://…`, `gs://…`, `wasbs://…`, `abfss://…`) are
 * proxied the same way: the server holds the bucket's credentials, its clients need none. Any
 * other URI (`mlflow-artifacts:` written by an MLflow server, `http://…`) is shown unchanged:
 * this server cannot reach its artifacts.
 */
import { isBucketUri } from "../artifacts/open.ts";
import type { Experiment, RunInfo } from "../entities.ts";

export const PROXY_SCHEME = "mlflow-artifacts:";

/** A `file:` URI or a plain path (MLflow 1.x and 2.x wrote plain paths). */
export function isLocal(uri: string): boolean {
  return uri === "" || uri.startsWith("file:") || !/^[a-z][a-z0-9+.-]*:/i.test(uri);
}

/** Artifacts this server reads and writes for its clients: in the tree, or in a bucket. */
export function isProxied(uri: string): boolean {
  return isLocal(uri) || isBucketUri(uri);
}

export function runArtifactUri(info: RunInfo): string {
  return isProxied(info.artifactUri)
    ? `${PROXY_SCHEME}/${info.experimentId}/${info.runId}/artifacts`
    : info.artifactUri;
}

export function experimentArtifactLocation(experiment: Experiment): string {
  return isProxied(experiment.artifactLocation)
    ? `${PROXY_SCHEME}/${experiment.experimentId}`
    : experiment.artifactLocation;
}

export function modelArtifactUri(model: {
  experimentId: string;
  modelId: string;
  artifactLocation: string;
}): string {
  return isProxied(model.artifactLocation)
    ? `${PROXY_SCHEME}/${model.experimentId}/models/${model.modelId}/artifacts`
    : model.artifactLocation;
}

/** What a proxy path names: a file (or folder) of a run's, or of a logged model's, artifacts. */
export type ProxyTarget =
  | { kind: "run"; experimentId: string; runId: string; path: string }
  | { kind: "model"; experimentId: string; modelId: string; path: string };

/** `<exp>/<run>/artifacts[/path]` or `<exp>/models/<model>/artifacts[/path]`; else undefined. */
export function proxyTarget(segments: readonly string[]): ProxyTarget | undefined {
  const [experimentId, second, third, fourth, ...rest] = segments;
  if (experimentId === undefined || second === undefined) return undefined;
  if (second === "models" && fourth === "artifacts" && third !== undefined) {
    return { kind: "model", experimentId, modelId: third, path: rest.join("/") };
  }
  if (third !== "artifacts") return undefined;
  const path = [fourth, ...rest].filter((s): s is string => s !== undefined).join("/");
  return { kind: "run", experimentId, runId: second, path };
}
