/**
 * How to reach and sign for an Azure storage account, read as MLflow's Azure repositories read
 * it: `AZURE_STORAGE_CONNECTION_STRING` first (account key or SAS, and its endpoints, which is
 * how Azurite and sovereign clouds are reached), then `AZURE_STORAGE_ACCESS_KEY` for the account
 * the URI names, then `AZURE_STORAGE_SAS_TOKEN`, and else Microsoft Entra ID through
 * `DefaultAzureCredential` from `@azure/identity`, loaded only then.
 */
import { createHmac } from "node:crypto";
import { invalid, MlflowError } from "../../errors.ts";
import { shared } from "../credential-cache.ts";
import { loadOptional } from "../optional.ts";
import type { Env } from "../repository.ts";

export type AzureAuth =
  | { kind: "key"; account: string; key: Buffer }
  | { kind: "sas"; query: string }
  | { kind: "token"; token: () => Promise<string> };

export interface AzureAccess {
  /** The blob service endpoint, e.g. `https://acct.blob.core.windows.net` (no trailing slash). */
  endpoint: string;
  auth: AzureAuth;
  /** Which variable the credentials came from, for messages (never the value). */
  source: string;
}

export function parseConnectionString(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(";")) {
    const at = part.indexOf("=");
    if (at > 0) fields[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return fields;
}

function accountKey(value: string, variable: string): Buffer {
  const key = Buffer.from(value, "base64");
  if (key.length === 0)
    throw invalid(
      `${variable} holds no account key`,
      "Copy the key from the storage account's Access keys page.",
    );
  return key;
}

/** `account` and `suffix` come from the URI (`<container>@<account>.blob.<suffix>`). */
export function azureAccess(env: Env, account: string, suffix: string): AzureAccess {
  const connection = env.AZURE_STORAGE_CONNECTION_STRING;
  if (connection) {
    const fields = parseConnectionString(connection);
    if (/^true$/i.test(fields.usedevelopmentstorage ?? "")) {
      throw invalid(
        "UseDevelopmentStorage=true in AZURE_STORAGE_CONNECTION_STRING is not supported",
        "Give Azurite's full connection string (AccountName, AccountKey, BlobEndpoint).",
      );
    }
    const name = fields.accountname ?? account;
    const protocol = fields.defaultendpointsprotocol ?? "https";
    const endpoint = (
      fields.blobendpoint ?? `${protocol}://${name}.blob.${fields.endpointsuffix ?? suffix}`
    ).replace(/\/+$/, "");
    const source = "AZURE_STORAGE_CONNECTION_STRING";
    if (fields.accountkey)
      return {
        endpoint,
        source,
        auth: { kind: "key", account: name, key: accountKey(fields.accountkey, source) },
      };
    if (fields.sharedaccesssignature)
      return {
        endpoint,
        source,
        auth: { kind: "sas", query: fields.sharedaccesssignature.replace(/^\?/, "") },
      };
    throw invalid(
      "AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature",
      "Copy the whole connection string from the storage account's Access keys page.",
    );
  }
  const endpoint = `https://${account}.blob.${suffix}`;
  if (env.AZURE_STORAGE_ACCESS_KEY) {
    return {
      endpoint,
      source: "AZURE_STORAGE_ACCESS_KEY",
      auth: {
        kind: "key",
        account,
        key: accountKey(env.AZURE_STORAGE_ACCESS_KEY, "AZURE_STORAGE_ACCESS_KEY"),
      },
    };
  }
  if (env.AZURE_STORAGE_SAS_TOKEN) {
    return {
      endpoint,
      source: "AZURE_STORAGE_SAS_TOKEN",
      auth: { kind: "sas", query: env.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, "") },
    };
  }
  const token = async () => (await shared("azure\nDefaultAzureCredential", entraToken)).token;
  return { endpoint, source: "DefaultAzureCredential", auth: { kind: "token", token } };
}

/** A token for Azure Storage from `DefaultAzureCredential` (`@azure/identity`, optional). */
async function entraToken(): Promise<{ token: string; expiresAt: number }> {
  const identity = await loadOptional<{
    DefaultAzureCredential: new () => {
      getToken: (scope: string) => Promise<{ token: string; expiresOnTimestamp: number }>;
    };
  }>(
    "@azure/identity",
    "Azure sign-in without AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY",
  );
  try {
    const found = await new identity.DefaultAzureCredential().getToken(
      "https://storage.azure.com/.default",
    );
    return { token: found.token, expiresAt: found.expiresOnTimestamp };
  } catch (cause) {
    throw new MlflowError("UNAUTHENTICATED", `Azure sign-in failed: ${(cause as Error).message}`, {
      cause,
      hint:
        "Set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY, or sign in (az login, " +
        "a managed identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET).",
    });
  }
}

/**
 * Signs a request with the account key (Shared Key), as Azure Storage specifies it. The URL
 * path is used as sent (encoded); query values are decoded, names lower-cased.
 */
export function signSharedKey(
  request: { method: string; url: URL; headers: Record<string, string>; bodyLength: number },
  account: string,
  key: Buffer,
): void {
  const header = (name: string) => {
    const found = Object.keys(request.headers).find((k) => k.toLowerCase() === name);
    return found === undefined ? "" : String(request.headers[found]);
  };
  const msHeaders = Object.keys(request.headers)
    .filter((name) => name.toLowerCase().startsWith("x-ms-"))
    .map((name) => [name.toLowerCase(), String(request.headers[name]).trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}:${value}\n`)
    .join("");
  const params = new Map<string, string[]>();
  for (const [name, value] of request.url.searchParams) {
    const lower = name.toLowerCase();
    params.set(lower, [...(params.get(lower) ?? []), value]);
  }
  const resource =
    `/${account}${request.url.pathname}` +
    [...params.keys()]
      .sort()
      .map((name) => `\n${name}:${(params.get(name) ?? []).sort().join(",")}`)
      .join("");
  const toSign = [
    request.method,
    header("content-encoding"),
    header("content-language"),
    request.bodyLength === 0 ? "" : String(request.bodyLength),
    header("content-md5"),
    header("content-type"),
    "",
    header("if-modified-since"),
    header("if-match"),
    header("if-none-match"),
    header("if-unmodified-since"),
    header("range"),
    `${msHeaders}${resource}`,
  ].join("\n");
  const signature = createHmac("sha256", key).update(toSign, "utf8").digest("base64");
  request.headers.Authorization = `SharedKey ${account}:${signature}`;
}
