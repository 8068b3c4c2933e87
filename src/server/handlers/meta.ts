/** What the server says about itself: `/health`, `/version`, `server-info`. */
import { sendText } from "../http.ts";
import { type Handler, STREAMED } from "../router.ts";

/**
 * The MLflow version this server speaks for: Python clients read `/version` to decide which
 * endpoints to call, so it names the newest MLflow the server is tested with. Our own version
 * goes in the `X-Mlruns-Version` header of every answer.
 */
export const MLFLOW_API_VERSION = "3.17.2";

export const health: Handler = async ({ res }) => {
  sendText(res, 200, "OK");
  return STREAMED;
};

export const version: Handler = async ({ res }) => {
  sendText(res, 200, MLFLOW_API_VERSION);
  return STREAMED;
};

/** MLflow 3's capability probe: a file store, and none of the optional features. */
export const serverInfo: Handler = async () => ({
  store_type: "FileStore",
  workspaces_enabled: false,
  trace_archival_enabled: false,
  multipart_uploads_enabled: false,
  multipart_downloads_enabled: false,
  presigned_upload_run_id_supported: false,
  presigned_upload_model_id_supported: false,
  features_enabled: { gateway: false },
});
