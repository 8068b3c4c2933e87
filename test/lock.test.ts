/**
 * The lock files of a tree (lock.ts): a stale lock is taken over by exactly one
 * waiter, a held lock is renewed so it never looks stale, and a holder removes only its own lock.
 * The same trials across processes are in test/slow (concurrency, registry-concurrency).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isMlflowError } from "../src/errors.ts";
import { isLockFile, withLock } from "../src/lock.ts";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlruns-lock-"));
  path = join(dir, ".mlruns.lock");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has just exited: no process of this host has it. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ["-e", ""]);
  return pid as number;
}

/** A lock as an earlier mlruns, killed while holding it, left it. */
const leftBy = (pid: number, host = hostname()) => `${pid} ${host} ${Date.now()}`;

/** Runs `holders` at once; returns the most that were ever inside the lock together. */
async function contend(holders: number, options: Parameters<typeof withLock>[2] = {}) {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: holders }, async (_, i) => {
      await sleep(i % 3); // staggered, so that checks and removals interleave
      return withLock(
        path,
        async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(2);
          inside--;
        },
        options,
      );
    }),
  );
  return most;
}

const leftovers = async () => (await readdir(dir)).filter((name) => name.includes(".lock"));

describe("withLock", () => {
  it("lets exactly one of 8 waiters take over a lock left by a dead process, 12 rounds", async () => {
    const dead = deadPid();
    for (let round = 0; round < 12; round++) {
      await writeFile(path, leftBy(dead));
      expect(await contend(8)).toBe(1);
      expect(await leftovers()).toEqual([]);
    }
  }, 30_000);

  it("takes over a lock from another host once nobody renewed it for the stale time", async () => {
    await writeFile(path, leftBy(4242, "elsewhere"));
    const error = await withLock(path, async () => 0, { wait: false, staleMs: 5000 }).catch(
      (e: unknown) => e,
    );
    expect(isMlflowError(error, "TEMPORARILY_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toMatch(/process 4242 on elsewhere, since \d{4}-.* holds/);
    const old = new Date(Date.now() - 6000);
    await utimes(path, old, old);
    expect(await contend(8, { staleMs: 5000 })).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it("renews a held lock, so a second holder is refused for as long as the work runs", async () => {
    let refusals = 0;
    await withLock(
      path,
      async () => {
        // Five stale times and a dozen tries, however slowly a loaded machine gets through them.
        const until = Date.now() + 1500;
        while (Date.now() < until || refusals <= 10) {
          const second = await withLock(path, async () => "ran", {
            wait: false,
            staleMs: 300,
            purpose: "syncing this tree",
          }).catch((error: unknown) => error);
          expect((second as Error).message).toMatch(/is syncing this tree: process \d+ on /);
          refusals++;
          await sleep(100);
        }
      },
      { staleMs: 300 },
    );
    expect(refusals).toBeGreaterThan(10);
    expect(await leftovers()).toEqual([]);
  });

  it("removes only its own lock when it ends", async () => {
    const other = leftBy(process.pid, "another-host");
    await withLock(
      path,
      async () => {
        // Frozen for longer than the stale time: another process took the lock over meanwhile.
        await rm(path);
        await writeFile(path, other);
      },
      { staleMs: 300 },
    );
    expect(await readFile(path, "utf8")).toBe(other);
  });

  it("takes over the claim of a process that died while taking over a stale lock", async () => {
    const stale = leftBy(deadPid());
    await writeFile(path, stale);
    const digest = createHash("sha256").update(stale).digest("hex").slice(0, 16);
    await writeFile(`${path}.${digest}`, leftBy(deadPid()));
    expect(await contend(4)).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it("waits for a lock whose holder has not written its name yet, instead of failing", async () => {
    await writeFile(path, ""); // created, not yet written; here its creator never writes
    const started = Date.now();
    expect(await withLock(path, async () => "ran", { wait: false, staleMs: 300 })).toBe("ran");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await leftovers()).toEqual([]);
  });

  it("names its claims so that a watcher can tell them from the tree", () => {
    expect(isLockFile(".mlruns.lock", ".mlruns.lock")).toBe(true);
    expect(isLockFile(".mlruns.lock.0123456789abcdef", ".mlruns.lock")).toBe(true);
    expect(isLockFile(".mlruns.lock.0123456789abcdef.fedcba9876543210", ".mlruns.lock")).toBe(true);
    expect(isLockFile(".mlruns.lock.txt", ".mlruns.lock")).toBe(false);
    expect(isLockFile(".mlruns-sync.lock", ".mlruns.lock")).toBe(false);
  });
});
