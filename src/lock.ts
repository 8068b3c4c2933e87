/**
 * Lock files for the few operations that must not interleave across processes: experiment
 * creation and rename (MLflow itself can create duplicate names), the registry's
 * read-modify-write steps, and sync. A lock is a plain file at the tree's root, which MLflow
 * ignores, created exclusively and holding its owner's pid, host, start time and a random token.
 *
 * While held, the file's mtime is renewed every 10 s. A lock whose pid is gone from this host, or
 * that nobody renewed for 30 s (its owner died on another host, or was frozen that long), is stale
 * and is taken over.
 *
 * Removing a lock file, to take over a stale one or to release one's own, happens only under a
 * claim: the file `<lock>.<digest of its contents>`, created exclusively. Whoever creates the claim
 * checks the lock again and removes it only if it still holds the same contents (and, for a
 * takeover, is still stale). No one else can remove a lock holding those contents meanwhile, so
 * of several waiters that saw one stale lock exactly one removes it, never the lock that
 * replaced it, and a holder never removes a lock that is not its own. A claim left by a process
 * that died holding it is itself taken over the same way.
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isMissing } from "./atomic.ts";
import { MlflowError } from "./errors.ts";
import { isProcessAlive } from "./process-alive.ts";

const STALE_MS = 30_000;
const GIVE_UP_MS = 60_000;

export interface LockOptions {
  /** `false`: fail at once, naming the holder, instead of waiting up to a minute. */
  wait?: boolean;
  /** One word written into the lock, telling others what holds it (e.g. `background`). */
  note?: string;
  /** With `wait: false`: holders whose note this accepts are waited for all the same. */
  waitFor?: (note: string) => boolean;
  /** Told once when the lock is busy and is waited for, with the holder's pid and note. */
  onWait?: (holder: { pid: string; note: string }) => void;
  /** What the lock guards, for the message when it is busy (e.g. "syncing this tree"). */
  purpose?: string;
  /** A lock not renewed for this long is stale (tests; default 30 s). Renewed at a third of it. */
  staleMs?: number;
}

interface Seen {
  text: string;
  mtimeMs: number;
}

function isStale(lock: Seen, staleMs: number): boolean {
  const [pid, host] = lock.text.split(" ");
  if (host === hostname() && /^[1-9]\d*$/.test(pid ?? "") && !isProcessAlive(Number(pid)))
    return true;
  return Date.now() - lock.mtimeMs > staleMs;
}

/** The lock file's contents and mtime, read through one descriptor; undefined when absent. */
async function read(path: string): Promise<Seen | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, "r");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const [text, { mtimeMs }] = await Promise.all([handle.readFile("utf8"), handle.stat()]);
    return { text, mtimeMs };
  } finally {
    await handle.close();
  }
}

/** Creates `path` holding `text` unless it exists; the open handle renews the lock. */
async function create(path: string, text: string): Promise<fs.FileHandle | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw error;
  }
  try {
    await handle.writeFile(text);
    return handle;
  } catch (error) {
    await handle.close();
    await fs.rm(path, { force: true });
    throw error;
  }
}

function ownText(note = ""): string {
  const text = `${process.pid} ${hostname()} ${Date.now()} ${randomBytes(8).toString("hex")}`;
  return note === "" ? text : `${text} ${note}`;
}

/**
 * Removes the lock at `path` if it still holds `seen.text` and `still` holds for it, under the
 * claim for those contents. Returns false when another process holds that claim.
 */
async function removeClaimed(
  path: string,
  seen: Seen,
  still: (now: Seen) => boolean,
  staleMs: number,
): Promise<boolean> {
  const digest = createHash("sha256").update(seen.text).digest("hex").slice(0, 16);
  const claim = `${path}.${digest}`;
  const handle = await create(claim, ownText());
  if (handle === undefined) {
    // Someone else is removing it, unless they died doing so: then their claim is stale too.
    const other = await read(claim);
    if (other === undefined || !isStale(other, staleMs)) return false;
    await removeClaimed(claim, other, (now) => isStale(now, staleMs), staleMs);
    return false;
  }
  try {
    const now = await read(path);
    if (now?.text === seen.text && still(now)) await fs.rm(path, { force: true });
    return true;
  } finally {
    await handle.close();
    await fs.rm(claim, { force: true });
  }
}

/** A lock another live process holds (`withLock` with `wait: false`, or after a minute). */
export class LockBusyError extends MlflowError {}

/** The words of a lock file: pid, host, start time, token, and the holder's note. */
function words(holder: Seen | undefined): { pid: string; note: string } {
  const [pid = "?", , , , note = ""] = (holder?.text || "?").split(" ");
  return { pid, note };
}

function busy(path: string, holder: Seen | undefined, options: LockOptions): MlflowError {
  const [pid = "?", host = "?", since] = (holder?.text || "? ?").split(" ");
  const started = Number(since) > 0 ? `, since ${new Date(Number(since)).toISOString()}` : "";
  const what = options.purpose ?? "working on this tree";
  return new LockBusyError(
    "TEMPORARILY_UNAVAILABLE",
    `Another mlruns process is ${what}: process ${pid} on ${host}${started} holds ${path}`,
    {
      hint:
        options.wait === false
          ? "Wait for it to finish, or stop it. A lock whose process has died is taken over by the next attempt."
          : "That process has held the lock for over a minute; if it is stuck, stop it. A lock whose process has died is taken over.",
    },
  );
}

/**
 * Runs `work` holding the lock at `path`, renewing it meanwhile. Waits up to a minute for another
 * holder, or, with `wait: false`, fails at once naming the holder.
 */
export async function withLock<T>(
  path: string,
  work: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const staleMs = options.staleMs ?? STALE_MS;
  const text = ownText(options.note);
  const started = Date.now();
  let told = false;
  let handle: fs.FileHandle | undefined;
  for (let attempt = 0; handle === undefined; attempt++) {
    handle = await create(path, text);
    if (handle !== undefined) break;
    const holder = await read(path);
    if (holder === undefined) continue; // released meanwhile
    const stale = isStale(holder, staleMs);
    if (stale && (await removeClaimed(path, holder, (now) => isStale(now, staleMs), staleMs)))
      continue;
    // A stale lock another process is removing right now, or a lock whose holder has not yet
    // written its name, is worth a moment's wait.
    const named = holder.text !== "";
    const waitedFor = named && options.waitFor?.(words(holder).note) === true;
    const refuse = !stale && named && options.wait === false && !waitedFor;
    if (refuse || Date.now() - started > GIVE_UP_MS) throw busy(path, holder, options);
    if (waitedFor && !told) {
      told = true;
      options.onWait?.(words(holder));
    }
    await sleep(Math.min(5 + attempt * 5, 100));
  }
  const lock = handle;
  const renew = setInterval(() => {
    const now = new Date();
    lock.utimes(now, now).catch(() => {});
  }, staleMs / 3);
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await lock.close();
    // Only while another process checks whether this lock is stale is its claim taken.
    const own = { text, mtimeMs: 0 };
    while (!(await removeClaimed(path, own, () => true, staleMs))) await sleep(10);
  }
}

/** Whether `name` is the lock file named `lock` or one of its claims (`<lock>.<digest>`…). */
export function isLockFile(name: string, lock: string): boolean {
  return (
    name === lock ||
    (name.startsWith(`${lock}.`) && /^(\.[0-9a-f]{16})+$/.test(name.slice(lock.length)))
  );
}
