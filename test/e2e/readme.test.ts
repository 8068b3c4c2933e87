/**
 * Every TypeScript example in the README's Library, Model registry and server sections runs, as a user
 * would run it: compiled, importing the built package by its name, in a fresh working directory.
 * (The Sync example needs a server at a made-up address; sync itself is tested in compat/.)
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

const run = promisify(execFile);
const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  return readme.slice(start, readme.indexOf("\n## ", start + 1));
};
const examples = [
  section("Library"),
  section("Model registry"),
  section("Serve a tree to MLflow clients"),
].flatMap((text) => [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string));
// Inside the package, so that `import "mlruns"` resolves to the build through `exports`.
const scratch = join(REPO_ROOT, ".cache", "readme-examples");
const cwds: string[] = [];

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  for (const dir of cwds) await rm(dir, { recursive: true, force: true });
});

describe("README examples", () => {
  it("has examples to run", () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  examples.forEach((source, index) => {
    it(`example ${index + 1} runs and prints`, async () => {
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      await mkdir(scratch, { recursive: true });
      const file = join(scratch, `example-${index + 1}.mjs`);
      await writeFile(file, outputText);
      const cwd = await mkdtemp(join(tmpdir(), "mlruns-readme-"));
      cwds.push(cwd);
      const env = { ...process.env, MLFLOW_TRACKING_URI: "", MLFLOW_EXPERIMENT_NAME: "" };
      const { stdout } = await run(process.execPath, [file], { cwd, env });
      expect(stdout.trim().length).toBeGreaterThan(0);
      expect(stdout).not.toContain("undefined");
      // An example that searches finds what it logged (not a puzzling 0 or []).
      if (source.includes("searchModelVersions")) {
        expect(stdout.trim().split("\n").at(-1)).toMatch(/ \[ '1' \]$/);
      }
    });
  });
});
