/**
 * AWS credentials, found where boto3 (and so MLflow's client) finds them. Built in: the
 * environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), static keys
 * of the profile (`AWS_PROFILE`) in `~/.aws/credentials` or `~/.aws/config`, and a profile's
 * `credential_process`. Everything else boto3 knows (single sign-on, assumed roles, web
 * identity, ECS and EC2 roles) comes from AWS's own provider chain, `@aws-sdk/credential-providers`,
 * loaded only then.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { MlflowError } from "../../errors.ts";
import { loadOptional } from "../optional.ts";
import type { Env } from "../repository.ts";
import type { AwsCredentials } from "./sigv4.ts";

export interface Expiring extends AwsCredentials {
  /** Milliseconds since the epoch; absent for keys that do not expire. */
  expiresAt?: number;
}

type Profile = Record<string, string>;

/** INI sections of an AWS shared file: `[name]` in credentials, `[profile name]` in config. */
export function parseIni(text: string): Record<string, Profile> {
  const sections: Record<string, Profile> = {};
  let current: Profile | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      current = sections[header[1] as string] ??= {};
      continue;
    }
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (pair && current && !/^\s/.test(raw))
      current[(pair[1] as string).toLowerCase()] = (pair[2] as string).trim();
  }
  return sections;
}

async function readIni(path: string): Promise<Record<string, Profile>> {
  return parseIni(await readFile(path, "utf8").catch(() => ""));
}

const HINT =
  "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), " +
  "or a profile (AWS_PROFILE) in ~/.aws/credentials, as for boto3.";

export async function awsProfile(
  env: Env,
): Promise<{ name: string; credentials: Profile; config: Profile }> {
  const home = env.HOME || homedir();
  const name = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || "default";
  const [credentials, config] = await Promise.all([
    readIni(env.AWS_SHARED_CREDENTIALS_FILE || join(home, ".aws", "credentials")),
    readIni(env.AWS_CONFIG_FILE || join(home, ".aws", "config")),
  ]);
  return {
    name,
    credentials: credentials[name] ?? {},
    config: config[name === "default" ? "default" : `profile ${name}`] ?? config[name] ?? {},
  };
}

/** The first credentials of boto3's chain; throws a clear error when there are none. */
export async function resolveAwsCredentials(env: Env): Promise<Expiring> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  }
  const profile = await awsProfile(env);
  const merged = { ...profile.config, ...profile.credentials };
  const delegated =
    env.AWS_WEB_IDENTITY_TOKEN_FILE !== undefined ||
    ["role_arn", "sso_session", "sso_start_url", "web_identity_token_file"].some(
      (k) => k in merged,
    );
  if (!delegated) {
    for (const source of [profile.credentials, profile.config]) {
      if (source.aws_access_key_id && source.aws_secret_access_key) {
        return {
          accessKeyId: source.aws_access_key_id,
          secretAccessKey: source.aws_secret_access_key,
          sessionToken: source.aws_session_token || undefined,
        };
      }
    }
    if (merged.credential_process)
      return credentialProcess(merged.credential_process, profile.name);
  }
  if (!delegated && env.AWS_PROFILE && Object.keys(merged).length === 0) {
    throw new MlflowError(
      "UNAUTHENTICATED",
      `AWS profile '${profile.name}' (AWS_PROFILE) is not in ~/.aws/credentials or ~/.aws/config`,
      { hint: HINT },
    );
  }
  // SSO, roles, web identity, containers, instances: AWS's own chain, which boto3 mirrors.
  const providers = await loadOptional<{
    fromNodeProviderChain: (init: { profile?: string }) => () => Promise<{
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      expiration?: Date;
    }>;
  }>(
    "@aws-sdk/credential-providers",
    delegated
      ? `AWS profile '${profile.name}' (single sign-on, an assumed role or web identity)`
      : "Finding AWS credentials outside the environment and ~/.aws (ECS or EC2 roles)",
  ).catch((error: MlflowError) => {
    if (delegated) throw error;
    throw new MlflowError("UNAUTHENTICATED", "No AWS credentials found for S3", {
      cause: error,
      hint: `${HINT} For ECS or EC2 roles and SSO, also install @aws-sdk/credential-providers.`,
    });
  });
  try {
    const found = await providers.fromNodeProviderChain({ profile: profile.name })();
    return {
      accessKeyId: found.accessKeyId,
      secretAccessKey: found.secretAccessKey,
      sessionToken: found.sessionToken,
      ...(found.expiration ? { expiresAt: found.expiration.getTime() } : {}),
    };
  } catch (cause) {
    throw new MlflowError(
      "UNAUTHENTICATED",
      `No AWS credentials found for S3: ${(cause as Error).message}`,
      {
        cause,
        hint: HINT,
      },
    );
  }
}

async function credentialProcess(command: string, profile: string): Promise<Expiring> {
  let out: string;
  try {
    ({ stdout: out } = await promisify(execFile)("/bin/sh", ["-c", command], { timeout: 60_000 }));
  } catch (cause) {
    throw new MlflowError(
      "UNAUTHENTICATED",
      `The credential_process of AWS profile '${profile}' failed`,
      {
        cause,
        hint: "Run it by hand to see why; it must print AWS's credential_process JSON.",
      },
    );
  }
  let json: {
    AccessKeyId?: string;
    SecretAccessKey?: string;
    SessionToken?: string;
    Expiration?: string;
  } = {};
  try {
    json = JSON.parse(out) as typeof json;
  } catch {
    // Not JSON: reported below as printing no keys.
  }
  if (!json.AccessKeyId || !json.SecretAccessKey) {
    throw new MlflowError(
      "UNAUTHENTICATED",
      `The credential_process of AWS profile '${profile}' printed no keys`,
      { hint: HINT },
    );
  }
  return {
    accessKeyId: json.AccessKeyId,
    secretAccessKey: json.SecretAccessKey,
    sessionToken: json.SessionToken,
    ...(json.Expiration ? { expiresAt: Date.parse(json.Expiration) } : {}),
  };
}

/** The region boto3 would use: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1. */
export async function awsRegion(env: Env): Promise<string> {
  return (
    env.AWS_REGION || env.AWS_DEFAULT_REGION || (await awsProfile(env)).config.region || "us-east-1"
  );
}
