/**
 * Google Cloud Storage access, found as Google's client library (and so MLflow's client) finds
 * it: `STORAGE_EMULATOR_HOST` (an emulator, no credentials), else the key file named by
 * `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's application-default credentials file. Service
 * account keys and gcloud user credentials are exchanged for access tokens here (a signed JWT, or
 * a refresh token); anything else (workload identity federation, the metadata server of GCE, GKE
 * or Cloud Run) comes from Google's own `google-auth-library`, loaded only then.
 */
import { createSign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { MlflowError } from "../../errors.ts";
import { shared } from "../credential-cache.ts";
import { loadOptional } from "../optional.ts";
import type { Env } from "../repository.ts";

const SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";

export interface GcsAccess {
  endpoint: string;
  /** An access token for each request, or none for an emulator. */
  token: (() => Promise<string>) | undefined;
  source: string;
}

interface KeyFile {
  type?: string;
  client_email?: string;
  private_key?: string;
  token_uri?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

const HINT =
  "Point GOOGLE_APPLICATION_CREDENTIALS at a service account key file (JSON), or run " +
  "`gcloud auth application-default login`, as for MLflow's client.";

export function gcsAccess(env: Env): GcsAccess {
  const emulator = env.STORAGE_EMULATOR_HOST;
  if (emulator) {
    return {
      endpoint: (/^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`).replace(
        /\/+$/,
        "",
      ),
      token: undefined,
      source: "STORAGE_EMULATOR_HOST",
    };
  }
  const explicit = env.GOOGLE_APPLICATION_CREDENTIALS;
  const file =
    explicit ||
    join(
      env.CLOUDSDK_CONFIG || join(env.HOME || homedir(), ".config", "gcloud"),
      "application_default_credentials.json",
    );
  const source = explicit
    ? "GOOGLE_APPLICATION_CREDENTIALS"
    : "gcloud's application default credentials";
  const key = explicit !== undefined && explicit !== "";
  const token = async () => (await shared(`gcs\n${file}`, () => fetchToken(file, key))).token;
  return { endpoint: "https://storage.googleapis.com", token, source };
}

async function fetchToken(
  file: string,
  explicit: boolean,
): Promise<{ token: string; expiresAt: number }> {
  let key: KeyFile | undefined;
  try {
    key = JSON.parse(await readFile(file, "utf8")) as KeyFile;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    if (explicit || !missing) {
      throw new MlflowError(
        "UNAUTHENTICATED",
        `Cannot read the Google credentials file ${file}${explicit ? " (GOOGLE_APPLICATION_CREDENTIALS)" : ""}: ${missing ? "no such file" : (cause as Error).message}`,
        { cause, hint: HINT },
      );
    }
  }
  if (key?.type === "service_account" && key.client_email && key.private_key) {
    const tokenUri = key.token_uri ?? "https://oauth2.googleapis.com/token";
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iss: key.client_email, scope: SCOPE, aud: tokenUri, iat: now, exp: now + 3600 })}`;
    let signature: string;
    try {
      signature = createSign("RSA-SHA256").update(unsigned).sign(key.private_key, "base64url");
    } catch (cause) {
      throw new MlflowError(
        "UNAUTHENTICATED",
        `The private key in ${file} cannot sign: ${(cause as Error).message}`,
        { cause, hint: HINT },
      );
    }
    return exchange(
      tokenUri,
      {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: `${unsigned}.${signature}`,
      },
      file,
    );
  }
  if (key?.type === "authorized_user" && key.refresh_token) {
    return exchange(
      key.token_uri ?? "https://oauth2.googleapis.com/token",
      {
        grant_type: "refresh_token",
        client_id: key.client_id ?? "",
        client_secret: key.client_secret ?? "",
        refresh_token: key.refresh_token,
      },
      file,
    );
  }
  // Workload identity federation, impersonation, the metadata server: Google's library.
  const library = await loadOptional<{
    GoogleAuth: new (options: {
      scopes: string[];
      keyFile?: string;
    }) => {
      getAccessToken: () => Promise<string | null | undefined>;
    };
  }>(
    "google-auth-library",
    key
      ? `Google credentials of type '${key.type}'`
      : "Google credentials from the metadata server (no key file found)",
  );
  const auth = new library.GoogleAuth({ scopes: [SCOPE], ...(key ? { keyFile: file } : {}) });
  const token = await auth.getAccessToken().catch((cause: unknown) => {
    throw new MlflowError("UNAUTHENTICATED", `Google sign-in failed: ${(cause as Error).message}`, {
      cause,
      hint: HINT,
    });
  });
  if (!token)
    throw new MlflowError("UNAUTHENTICATED", "Google sign-in gave no access token", { hint: HINT });
  return { token, expiresAt: Date.now() + 30 * 60_000 };
}

async function exchange(
  url: string,
  form: Record<string, string>,
  file: string,
): Promise<{ token: string; expiresAt: number }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  } catch (cause) {
    throw new MlflowError(
      "TEMPORARILY_UNAVAILABLE",
      `Cannot reach Google's token service at ${new URL(url).host}`,
      {
        cause,
        hint: "Check the network.",
      },
    );
  }
  const json = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !json.access_token) {
    throw new MlflowError(
      "UNAUTHENTICATED",
      `Google refused the credentials in ${file}: ${json.error ?? response.status}${json.error_description ? ` (${json.error_description})` : ""}`,
      { hint: HINT },
    );
  }
  return { token: json.access_token, expiresAt: Date.now() + (json.expires_in ?? 3600) * 1000 };
}
