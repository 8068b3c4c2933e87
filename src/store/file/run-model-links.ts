/**
 * The links between runs and logged models in a tree (logged-models.ts), as MLflow's file store
 * lays them out: `<run>/outputs/<m-id>/meta.yaml` (the run made the model, at a step) and
 * `<run>/inputs/<md5(m-id + run id)>/meta.yaml` (the run used the model).
 */
import { createHash } from "node:crypto";
import { promises as fs, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createFile, isMissing } from "../../atomic.ts";
import type { RunModelLinks } from "../logged-models.ts";
import { fromYaml, toYaml } from "./yaml.ts";

const META = "meta.yaml";

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

/** Records that the run made these models. */
export async function writeRunOutputs(
  runDir: string,
  outputs: { modelId: string; step: number }[],
): Promise<void> {
  for (const { modelId, step } of outputs) {
    const dir = join(runDir, "outputs", modelId);
    await fs.mkdir(dir, { recursive: true });
    const link = {
      destination_id: modelId,
      destination_type: "MODEL_OUTPUT",
      source_id: modelId,
      source_type: "RUN_OUTPUT",
      step,
      tags: {},
    };
    await createFile(join(dir, META), toYaml(link), runDir);
  }
}

/** Records that the run used these models. */
export async function writeRunModelInputs(
  runDir: string,
  runId: string,
  modelIds: string[],
): Promise<void> {
  for (const modelId of modelIds) {
    const dir = join(runDir, "inputs", md5(modelId + runId));
    await fs.mkdir(dir, { recursive: true });
    const link = {
      destination_id: modelId,
      destination_type: "RUN",
      source_id: modelId,
      source_type: "MODEL",
      tags: {},
    };
    await createFile(join(dir, META), toYaml(link), runDir);
  }
}

/** Synchronous reads (two folder listings, usually missing): a search asks for 100 runs. */
export function readRunModelLinks(runDir: string): RunModelLinks {
  const links: RunModelLinks = { outputs: [], inputs: [] };
  for (const kind of ["outputs", "inputs"] as const) {
    const folder = join(runDir, kind);
    let entries: string[];
    try {
      entries = readdirSync(folder);
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    for (const entry of entries) {
      let text: string;
      try {
        text = readFileSync(join(folder, entry, META), "utf8");
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      const link = fromYaml(text) as Record<string, unknown> | null;
      if (link === null || typeof link !== "object") continue;
      if (kind === "outputs" && link.source_type === "RUN_OUTPUT") {
        links.outputs.push({ modelId: String(link.source_id), step: Number(link.step ?? 0) });
      } else if (kind === "inputs" && link.source_type === "MODEL") {
        links.inputs.push(String(link.source_id));
      }
    }
  }
  links.outputs.sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
  links.inputs.sort();
  return links;
}
