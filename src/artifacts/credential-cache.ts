/**
 * Credentials shared by every repository of the process that uses the same settings (a sync
 * opens one repository per run), and renewed five minutes before they expire. Keys are hashed:
 * no second copy of a secret is kept.
 */
import { createHash } from "node:crypto";

const entries = new Map<string, Promise<{ expiresAt?: number | undefined }>>();

export async function shared<T extends { expiresAt?: number | undefined }>(
  key: string,
  fetch: () => Promise<T>,
): Promise<T> {
  const id = createHash("sha256").update(key).digest("hex");
  const current = entries.get(id) as Promise<T> | undefined;
  if (current !== undefined) {
    const value = await current.catch(() => undefined);
    if (value && (value.expiresAt === undefined || value.expiresAt - Date.now() > 300_000)) {
      return value;
    }
  }
  const next = fetch();
  entries.set(id, next);
  next.catch(() => entries.delete(id));
  return next;
}
