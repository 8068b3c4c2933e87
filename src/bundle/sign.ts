/**
 * Optional Ed25519 signatures (Node's crypto): the exporter signs the manifest, which holds the
 * SHA-256 of every file, so one signature covers the whole bundle. The signature is the raw 64
 * bytes, so `openssl pkeyutl -verify -rawin` can check it too.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { readFile } from "node:fs/promises";
import { invalid } from "../errors.ts";

const ED25519_HINT =
  "Use an Ed25519 key in PEM: `openssl genpkey -algorithm ed25519 -out bundle.key` and " +
  "`openssl pkey -in bundle.key -pubout -out bundle.pub`";

/** A key given as PEM text, a KeyObject, or the path of a PEM file. */
export type KeyInput = string | Buffer | KeyObject;

async function pem(key: string | Buffer): Promise<string | Buffer> {
  if (Buffer.isBuffer(key) || key.includes("-----BEGIN")) return key;
  return readFile(key).catch((cause: unknown) => {
    throw invalid(`Cannot read the key file '${key}': ${(cause as Error).message}`, ED25519_HINT);
  });
}

async function keyObject(key: KeyInput, kind: "private" | "public"): Promise<KeyObject> {
  let object: KeyObject;
  try {
    if (typeof key === "object" && !Buffer.isBuffer(key)) object = key;
    else
      object =
        kind === "private" ? createPrivateKey(await pem(key)) : createPublicKey(await pem(key));
  } catch (error) {
    if ((error as { code?: string }).code === "INVALID_PARAMETER_VALUE") throw error;
    throw invalid(`Not a ${kind} key in PEM: ${(error as Error).message}`, ED25519_HINT);
  }
  if (object.asymmetricKeyType !== "ed25519") {
    throw invalid(
      `The ${kind} key is ${object.asymmetricKeyType ?? "not asymmetric"}, not Ed25519`,
      ED25519_HINT,
    );
  }
  return object;
}

export async function signManifest(manifest: Buffer, key: KeyInput): Promise<Buffer> {
  return sign(null, manifest, await keyObject(key, "private"));
}

/** True when `signature` is the manifest's, made with the private half of `key`. */
export async function verifyManifest(
  manifest: Buffer,
  signature: Buffer,
  key: KeyInput,
): Promise<boolean> {
  return verify(null, manifest, await keyObject(key, "public"), signature);
}
