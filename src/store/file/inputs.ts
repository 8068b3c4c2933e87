/**
 * Dataset inputs: the dataset record once per experiment (`datasets/<md5(name+digest)>/`), and a
 * link per run (`inputs/<md5(dataset id + run id)>/`), as MLflow's file store lays them out.
 */
import { createHash } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import { join } from "node:path";
import { createFile, isMissing } from "../../atomic.ts";
import type { Dataset, DatasetInput } from "../../entities.ts";
import type { Layout } from "./layout.ts";
import { asTreeError, TreeError, type TreeProblem, utf8Text } from "./problems.ts";
import { type RunFolderRead, textOf } from "./run-folder.ts";
import { fromYaml, toYaml, yamlProblem } from "./yaml.ts";

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

export function datasetId(dataset: Pick<Dataset, "name" | "digest">): string {
  return md5(dataset.name + dataset.digest);
}

export async function writeInputs(
  layout: Layout,
  experimentDir: string,
  runDir: string,
  runId: string,
  inputs: DatasetInput[],
): Promise<void> {
  for (const { dataset, tags } of inputs) {
    const id = datasetId(dataset);
    const datasetDir = layout.datasetDir(experimentDir, id);
    await fs.mkdir(datasetDir, { recursive: true });
    const record = toYaml({
      digest: dataset.digest,
      name: dataset.name,
      profile: dataset.profile,
      schema: dataset.schema,
      source: dataset.source,
      source_type: dataset.sourceType,
    });
    await createFile(join(datasetDir, "meta.yaml"), record, experimentDir);
    const inputDir = layout.inputDir(runDir, md5(id + runId));
    await fs.mkdir(inputDir, { recursive: true });
    const link = toYaml({
      destination_id: id,
      destination_type: "RUN",
      source_id: id,
      source_type: "DATASET",
      tags,
    });
    await createFile(join(inputDir, "meta.yaml"), link, runDir);
  }
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * A YAML document the pass read (or `read` reads), null when the file is missing; a TreeError
 * naming the file when it cannot be read or parsed.
 */
function documentOf(path: string, read: () => string | undefined): unknown {
  let text: string;
  try {
    text = read() ?? "";
  } catch (error) {
    if (isMissing(error)) return null;
    throw asTreeError(path, error);
  }
  try {
    return fromYaml(text);
  } catch (error) {
    throw new TreeError({ path, message: yamlProblem(error) });
  }
}

/**
 * A run's dataset inputs from one pass over its folder (run-folder.ts); inputs whose dataset
 * record is missing are skipped, as in MLflow. A record the pass did not follow (an id the stamp
 * does not trust as a folder name) is read here.
 */
export function inputsFromFolder(
  read: RunFolderRead,
  layout: Layout,
  experimentDir: string,
  report: (problem: TreeProblem) => void,
): DatasetInput[] {
  const inputs: DatasetInput[] = [];
  for (const folder of read.inputs) {
    const linkPath = `inputs/${folder}/meta.yaml`;
    const link = documentOf(join(read.runDir, linkPath), () => textOf(read, linkPath)) as Record<
      string,
      unknown
    > | null;
    if (link?.source_type !== "DATASET") continue;
    const id = String(link.source_id);
    const recordPath = join(layout.datasetDir(experimentDir, id), "meta.yaml");
    const record = documentOf(recordPath, () =>
      read.files.has(`../datasets/${id}/meta.yaml`)
        ? textOf(read, `../datasets/${id}/meta.yaml`)
        : utf8Text(recordPath, readFileSync(recordPath)),
    ) as Record<string, unknown> | null;
    if (record === null) {
      report({ path: recordPath, message: `dataset record of input ${folder} is missing` });
      continue;
    }
    if (typeof record !== "object" || Array.isArray(record)) {
      throw new TreeError({ path: recordPath, message: "not a dataset record (a YAML mapping)" });
    }
    const tags: Record<string, string> = {};
    const rawTags = link.tags;
    if (rawTags && typeof rawTags === "object") {
      for (const [key, value] of Object.entries(rawTags)) tags[key] = String(value);
    }
    inputs.push({
      dataset: {
        name: str(record.name) ?? "",
        digest: str(record.digest) ?? "",
        sourceType: str(record.source_type) ?? "",
        source: str(record.source) ?? "",
        schema: str(record.schema),
        profile: str(record.profile),
      },
      tags,
    });
  }
  return inputs;
}
