/** The model registry under `models/` (mlruns-format.md §4), as MLflow's registry store reads it. */
import { join } from "node:path";
import { entries, readEntry } from "./files.ts";
import { checkKeyFolder, keyFiles } from "./keys.ts";
import { checkRegistryMeta } from "./meta.ts";
import { problem, type VerifyProblem } from "./problems.ts";
import { checkTempFiles } from "./temp-files.ts";

const VERSION_PREFIX = "version-";

export async function checkRegistry(
  modelsDir: string,
  now: number,
): Promise<{ problems: VerifyProblem[]; models: number }> {
  const problems: VerifyProblem[] = [];
  let models = 0;
  for (const model of await entries(modelsDir)) {
    if (!model.isDirectory()) continue;
    models++;
    const dir = join(modelsDir, model.name);
    const metaPath = join(dir, "meta.yaml");
    problems.push(...checkRegistryMeta(metaPath, await readEntry(metaPath), "model"));
    problems.push(...(await checkKeyFolder(join(dir, "tags"), "keys")).problems);
    problems.push(...(await checkTempFiles(dir, now)));
    // MLflow takes every folder named version-* for a version.
    const versions = new Set<string>();
    for (const entry of await entries(dir)) {
      if (!entry.isDirectory() || !entry.name.startsWith(VERSION_PREFIX)) continue;
      const versionDir = join(dir, entry.name);
      const versionMeta = join(versionDir, "meta.yaml");
      const meta = await readEntry(versionMeta);
      problems.push(...checkRegistryMeta(versionMeta, meta, "version"));
      if (meta.kind === "text") versions.add(entry.name.slice(VERSION_PREFIX.length));
      problems.push(...(await checkKeyFolder(join(versionDir, "tags"), "keys")).problems);
    }
    const aliases = join(dir, "aliases");
    const aliasCheck = await checkKeyFolder(aliases, "aliases");
    problems.push(...aliasCheck.problems);
    for (const { key, path } of await keyFiles(aliases)) {
      if (aliasCheck.problems.some((p) => p.path === path)) continue;
      const entry = await readEntry(path);
      const version = entry.kind === "text" ? entry.text.trim() : "";
      if (versions.has(version)) continue;
      problems.push(
        problem({
          code: "MODEL_ALIAS_DANGLING",
          path,
          message: `alias '${key}' names version '${version}', which does not exist; MLflow fails to resolve the alias`,
        }),
      );
    }
  }
  return { problems, models };
}
