/**
 * The system tags MLflow's fluent API puts on a new run: who ran it, what script, and which git
 * commit when the script lives in a git checkout. Read from the filesystem; no `git` process.
 */
import { readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SYSTEM_TAGS } from "../entities.ts";

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? "unknown";
  }
}

/** The `.git` directory of the checkout holding `start`, following `gitdir:` files (worktrees). */
function findGitDir(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, ".git");
    try {
      const stat = statSync(candidate);
      if (stat.isDirectory()) return candidate;
      const pointer = /^gitdir: (.+)$/m.exec(readFileSync(candidate, "utf8"));
      if (pointer?.[1]) return resolve(dir, pointer[1].trim());
    } catch {
      // not here; look in the parent
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The commit HEAD points at, resolving a branch through loose refs or packed-refs. */
export function gitCommit(start: string): string | undefined {
  const gitDir = findGitDir(start);
  if (gitDir === undefined) return undefined;
  try {
    const head = readFileSync(join(gitDir, "HEAD"), "utf8").trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (ref === undefined) return undefined;
    // A worktree keeps its own HEAD but shares refs with the main repository.
    const common = (() => {
      try {
        return resolve(gitDir, readFileSync(join(gitDir, "commondir"), "utf8").trim());
      } catch {
        return gitDir;
      }
    })();
    for (const dir of [gitDir, common]) {
      try {
        const sha = readFileSync(join(dir, ref), "utf8").trim();
        if (/^[0-9a-f]{40}$/.test(sha)) return sha;
      } catch {
        // try packed-refs
      }
      try {
        const packed = readFileSync(join(dir, "packed-refs"), "utf8");
        const line = packed.split("\n").find((l) => l.endsWith(` ${ref}`));
        if (line) return line.slice(0, 40);
      } catch {
        // no packed refs here
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** `mlflow.user`, `mlflow.source.name`, `mlflow.source.type` and, in git, the commit. */
export function systemTags(script = process.argv[1]): Record<string, string> {
  const tags: Record<string, string> = {
    [SYSTEM_TAGS.user]: currentUser(),
    [SYSTEM_TAGS.sourceName]: script ?? "<console>",
    [SYSTEM_TAGS.sourceType]: "LOCAL",
  };
  const commit = gitCommit(script ? dirname(resolve(script)) : process.cwd());
  if (commit) tags[SYSTEM_TAGS.gitCommit] = commit;
  return tags;
}
