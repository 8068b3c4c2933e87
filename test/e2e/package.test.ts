/**
 * The package as a user gets it: `npm pack`, installed with its dependencies into fresh ESM and
 * CommonJS projects, offline (from the local npm cache, with a lockfile made from ours), then
 * used as the README's Install section says: import and require, the TypeScript settings it
 * gives, the README's examples compiled with them, and `npx mlruns`.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";
import { assertBuilt, tempDir } from "./helpers.ts";

/** Tests that run tsc two or three times: ~25 s on two idle cores, minutes on a loaded one. */
const TSC_TIMEOUT = 360_000;

const exec = promisify(execFile);
const TSC = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
const ourPackage = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};
const ourLock = JSON.parse(await readFile(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { dependencies?: Record<string, string> }>;
};

/** A fenced block of the README's Install section. */
function installBlock(language: string): string {
  const start = readme.indexOf("\n## Install\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const block = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1];
  if (block === undefined) throw new Error(`no ${language} block in the README's Install section`);
  return block;
}

/** The TypeScript examples of the README's Library and Model registry sections. */
function examples(): string[] {
  const section = (title: string) => {
    const start = readme.indexOf(`\n## ${title}\n`);
    return readme.slice(start, readme.indexOf("\n## ", start + 1));
  };
  return [section("Library"), section("Model registry")].flatMap((text) =>
    [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string),
  );
}

let dir: string;
let cleanup: () => Promise<void>;
let tarball: string;
let entries: string[];

/** The lockfile entries of `names` and everything they need, as our lockfile resolves them. */
function closure(names: readonly string[]): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const resolve = (from: string, name: string): string => {
    for (let at = from; ; ) {
      const path = `${at ? `${at}/` : ""}node_modules/${name}`;
      if (ourLock.packages[path]) return path;
      if (at === "") throw new Error(`${name} is not in package-lock.json`);
      const cut = at.lastIndexOf("/node_modules/");
      at = cut < 0 ? "" : at.slice(0, cut);
    }
  };
  const queue: [string, string][] = names.map((name) => ["", name]);
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    const path = resolve(next[0], next[1]);
    if (found[path]) continue;
    const entry = ourLock.packages[path] as { dependencies?: Record<string, string> };
    found[path] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push([path, dep]);
  }
  return found;
}

/**
 * A fresh project (`type` module or commonjs, version 7.7.7) with the tarball and @types/node
 * installed by `npm ci --offline`.
 */
async function project(name: string, type: "module" | "commonjs"): Promise<string> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  const spec = `file:../${posix.basename(tarball)}`;
  const typesNode = (ourLock.packages["node_modules/@types/node"] as { version: string }).version;
  const manifest = {
    name,
    version: "7.7.7",
    private: true,
    type,
    dependencies: { mlruns: spec },
    devDependencies: { "@types/node": typesNode },
  };
  const lock = {
    name,
    version: "7.7.7",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": {
        name,
        version: "7.7.7",
        dependencies: manifest.dependencies,
        devDependencies: manifest.devDependencies,
      },
      "node_modules/mlruns": {
        version: ourPackage.version,
        resolved: spec,
        dependencies: ourPackage.dependencies,
        bin: ourPackage.bin,
      },
      ...closure(Object.keys(ourPackage.dependencies)),
      ...Object.fromEntries(
        Object.entries(closure(["@types/node"])).map(([k, v]) => [
          k,
          { ...(v as object), dev: true },
        ]),
      ),
    },
  };
  await writeFile(join(root, "package.json"), JSON.stringify(manifest, null, 2));
  await writeFile(join(root, "package-lock.json"), JSON.stringify(lock, null, 2));
  await exec("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: root,
  });
  return root;
}

const node = (cwd: string, ...args: string[]) => exec(process.execPath, args, { cwd });
const tsc = (cwd: string, ...args: string[]) => exec(process.execPath, [TSC, ...args], { cwd });
/** What a failed command printed (execFile rejects with stdout and stderr attached). */
const failure = (error: unknown) => {
  const e = error as { stdout?: string; stderr?: string };
  return `${e.stdout ?? ""}${e.stderr ?? ""}`;
};

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir("mlruns-package-"));
  const { stdout } = await exec(
    "npm",
    ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir],
    { cwd: REPO_ROOT },
  );
  tarball = join(dir, stdout.trim().split("\n").at(-1) as string);
  entries = (await exec("tar", ["-tzf", tarball])).stdout
    .split("\n")
    .filter(Boolean)
    .map((e) => e.replace(/^package\//, ""));
}, 120_000);
afterAll(async () => {
  await cleanup();
});

describe("the tarball", () => {
  it("holds the build, the licence, the sources its maps point at, and no tests", async () => {
    for (const file of [
      "LICENSE",
      "README.md",
      "package.json",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/cli/main.js",
      "dist/cli/mlruns.js",
      "src/index.ts",
      "cli/main.ts",
    ]) {
      expect(entries, file).toContain(file);
    }
    expect(entries.filter((e) => /^(test|dist\/test|dist\/scripts|fixtures)\//.test(e))).toEqual(
      [],
    );
    expect(await readFile(join(REPO_ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
  });

  it("holds what the README links to and shows, and the README links nowhere else", () => {
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    const local = targets.filter((t) => !t.startsWith("#") && !/^https?:\/\//.test(t));
    expect(local.length).toBeGreaterThan(0);
    for (const target of local) {
      expect(target, target).not.toMatch(/^(\.\.|\/)/);
      expect(entries, target).toContain(posix.normalize(target));
    }
  });

  it("has source maps whose sources are in the package", async () => {
    const root = await project("maps", "module");
    const installed = join(root, "node_modules", "mlruns");
    const maps = entries.filter((e) => e.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(installed, map), "utf8")) as {
        sources: string[];
      };
      for (const source of sources) {
        expect(entries, `${map} → ${source}`).toContain(posix.join(posix.dirname(map), source));
      }
    }
  });
});

describe("an ES module project", () => {
  let root: string;
  beforeAll(async () => {
    root = await project("esm-project", "module");
  }, 120_000);

  it("imports mlruns and runs the CLI of the package, with its own version", async () => {
    await writeFile(
      join(root, "plain.js"),
      `import { getTracker } from "mlruns";
const tracker = await getTracker({ trackingUri: "memory:" });
await tracker.withRun("r", {}, async (run) => run.logMetric("m", 1));
console.log((await tracker.searchRuns({})).runs.length);
`,
    );
    const { stdout, stderr } = await node(root, "plain.js");
    expect(stdout.trim()).toBe("1");
    expect(stderr).toBe("");
    const version = await exec("npx", ["--offline", "mlruns", "--version"], { cwd: root });
    expect(version.stdout.trim()).toBe(ourPackage.version);
    await exec("npx", ["--offline", "mlruns", "init"], { cwd: root });
    const listed = await exec(
      "npx",
      ["--offline", "mlruns", "experiments", "list", "--json=name"],
      {
        cwd: root,
      },
    );
    expect(JSON.parse(listed.stdout)).toEqual({
      experiments: [{ name: "Default" }],
      nextPageToken: null,
    });
  });

  it("compiles the README's examples with the README's tsconfig, and they run on this Node", async () => {
    await writeFile(join(root, "tsconfig.json"), installBlock("json"));
    const sources = examples();
    expect(sources.length).toBeGreaterThanOrEqual(4);
    for (const [i, source] of sources.entries()) {
      await writeFile(join(root, `example-${i + 1}.ts`), source);
    }
    try {
      await tsc(root, "-p", ".");
    } catch (error) {
      throw new Error(`tsc failed:\n${failure(error)}`);
    }
    for (const i of sources.keys()) {
      const cwd = join(root, `run-${i + 1}`);
      await mkdir(cwd);
      const { stdout } = await node(cwd, join(root, "dist", `example-${i + 1}.js`));
      expect(stdout.trim().length, `example ${i + 1}`).toBeGreaterThan(0);
      expect(stdout, `example ${i + 1}`).not.toContain("undefined");
    }
  });

  it(
    "type-checks with tsc --init's settings, which skip the declarations' Node types",
    async () => {
      const check = join(root, "strict-check");
      await mkdir(check);
      await writeFile(
        join(check, "check.ts"),
        `import { FileStore, getTracker, isMlflowError, RestStore, type RunRecord } from "mlruns";
const tracker = await getTracker({ trackingUri: "memory:" });
const records: RunRecord[] = (await tracker.searchRuns({})).runs;
export const ok: boolean = records.length === 0 && isMlflowError(new Error("x")) === false;
export { FileStore, RestStore };
`,
      );
      await tsc(check, "--init");
      await tsc(check, "-p", ".");
      // Without skipLibCheck the declarations need @types/node, as the README says.
      await tsc(check, "-p", ".", "--skipLibCheck", "false", "--types", "node");
    },
    TSC_TIMEOUT,
  );

  it(
    "needs target es2022 for `await using` on Node 20, as the README says",
    async () => {
      const source = examples().find((e) => e.includes("await using")) as string;
      const esnext = join(root, "esnext");
      await mkdir(esnext);
      await writeFile(join(esnext, "scoped.ts"), source);
      await tsc(esnext, "--init");
      await tsc(esnext, "-p", ".");
      const major = Number(process.versions.node.split(".")[0]);
      const ran = node(esnext, "scoped.js");
      if (major < 24) await expect(ran).rejects.toThrow(/SyntaxError/);
      else await expect(ran).resolves.toBeTruthy();
    },
    TSC_TIMEOUT,
  );
});

describe("a CommonJS project", () => {
  let root: string;
  beforeAll(async () => {
    root = await project("cjs-project", "commonjs");
  }, 120_000);

  it("loads mlruns with require(), as the README shows", async () => {
    const snippet = installBlock("js")
      .split("\n")
      .find((line) => line.includes("require(")) as string;
    await writeFile(
      join(root, "plain.js"),
      `${snippet}
getTracker({ trackingUri: "memory:" }).then(async (tracker) => {
  const run = await tracker.startRun("cjs");
  run.logMetric("m", 2);
  await run.end();
  console.log((await tracker.getRun(run.id)).metrics.m);
});
`,
    );
    const { stdout, stderr } = await node(root, "plain.js");
    expect(stdout.trim()).toBe("2");
    expect(stderr).toBe("");
  });

  it(
    "compiles TypeScript with module nodenext, and refuses it with node16 (TS1479)",
    async () => {
      await writeFile(join(root, "tsconfig.json"), installBlock("json"));
      await writeFile(
        join(root, "train.ts"),
        `import { getTracker } from "mlruns";
async function main(): Promise<void> {
  const tracker = await getTracker({ trackingUri: "memory:" });
  await tracker.withRun("ts-cjs", {}, async (run) => {
    run.logMetric("loss", 0.5, { step: 1 });
  });
  console.log((await tracker.searchRuns({ filter: "metrics.loss < 1" })).runs.length);
}
void main();
`,
      );
      await tsc(root, "-p", ".");
      const { stdout } = await node(root, join("dist", "train.js"));
      expect(stdout.trim()).toBe("1");
      const old = tsc(root, "-p", ".", "--module", "node16", "--moduleResolution", "node16");
      await expect(old).rejects.toMatchObject({ stdout: expect.stringContaining("TS1479") });
    },
    TSC_TIMEOUT,
  );
});

describe("the source map of a stack trace", () => {
  it("leads to the shipped TypeScript source", async () => {
    const map = entries.find((e) => e === "dist/src/errors.js.map") as string;
    const installed = join(dir, "maps", "node_modules", "mlruns");
    const { sources } = JSON.parse(await readFile(join(installed, map), "utf8")) as {
      sources: string[];
    };
    const source = join(installed, dirname(map), sources[0] as string);
    expect(await readFile(source, "utf8")).toContain("class MlflowError");
  });
});
