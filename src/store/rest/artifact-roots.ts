/**
 * Where a run's or logged model's artifacts are, for the RestStore (index.ts): the server's
 * proxy (artifacts.ts), or a bucket this process reaches with its own credentials
 * (`mlflow server --no-serve-artifacts` hands those URIs to its clients).
 */
import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import type { ArtifactRepository } from "../../artifacts/repository.ts";
import type { Run } from "../../entities.ts";
import { ProxyRepository, proxyRoot, unreachableArtifacts } from "./artifacts.ts";
import type { RestClient } from "./client.ts";
import { getRun } from "./runs.ts";

export class ArtifactRoots {
  readonly #client: RestClient;
  /** Artifact roots by run id: they never change once a run exists. */
  readonly #runRoots = new Map<string, string>();
  #serverInfo: Promise<boolean> | undefined;

  constructor(client: RestClient) {
    this.#client = client;
  }

  /** Keeps the run's artifact root, so its artifacts need no request for it; returns the run. */
  remember(run: Run): Run {
    this.#runRoots.set(run.info.runId, run.info.artifactUri);
    return run;
  }

  async ofRun(runId: string): Promise<ArtifactRepository> {
    const uri =
      this.#runRoots.get(runId) ??
      this.remember(await getRun(this.#client, runId)).info.artifactUri;
    return this.at(`Run ${runId}`, uri);
  }

  /** The repository behind an artifact URI; `owner` ("Run …", "Logged model …") names it in errors. */
  async at(owner: string, uri: string): Promise<ArtifactRepository> {
    const root = proxyRoot(this.#client, owner, uri);
    if (root !== undefined) {
      return new ProxyRepository(this.#client, root, () => this.#multipartUploads());
    }
    if (!isRemoteUri(uri) || /^https?:/i.test(uri)) {
      throw unreachableArtifacts(this.#client, owner, uri);
    }
    return openRepository(uri);
  }

  /** Whether the proxy offers MLflow 3's presigned multipart uploads (`server-info`). */
  #multipartUploads(): Promise<boolean> {
    this.#serverInfo ??= this.#client
      .json<{ multipart_uploads_enabled?: boolean }>("GET", "/api/3.0/mlflow/server-info", {
        retry: "unsent",
      })
      .then(
        (info) =>
          info.multipart_uploads_enabled === true &&
          !/^(0|false)$/i.test(process.env.MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD ?? ""),
      )
      .catch(() => false);
    return this.#serverInfo;
  }
}
