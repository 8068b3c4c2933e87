/**
 * `importBundle`: merges a bundle into a tree. The bundle is unpacked into a staging folder
 * inside the tree (so that renames stay on one filesystem) and checked whole before the tree is
 * touched; then experiments are matched by name (created when
 * missing) and each run is moved in or merged (merge.ts). Importing the same bundle again
 * changes nothing.
 */
import { randomUUID } from "node:crypto";
import { promises as fs, statSync } from "node:fs";
import { join } from "node:path";
import { TEMP_PREFIX } from "../atomic.ts";
import type { FileStore } from "../store/file/index.ts";
import { readKeyValues } from "../store/file/key-files.ts";
import { MetricFiles } from "../store/file/metric-files.ts";
import { copyExperimentTags, createExperiment } from "../sync/experiments.ts";
import { publicUri, sourceId } from "../sync/identity.ts";
import { checkStaged, readRunMeta } from "./check.ts";
import { type Manifest, runFile, TREE } from "./manifest.ts";
import { type ImportIssue, type MergeCounts, mergeDatasets, mergeRun, placeRun } from "./merge.ts";
import type { KeyInput } from "./sign.ts";
import type { BundleInput } from "./source.ts";
import {
  artifactFolder,
  experimentsByName,
  holdsLines,
  originInTree,
  readIfThere,
  treeIdIn,
  treeRuns,
} from "./tree.ts";
import { unpackBundle } from "./unpack.ts";

export type { ImportIssue } from "./merge.ts";

export interface ImportOptions {
  bundle: BundleInput;
  target: FileStore;
  /** Refuse the bundle unless it is signed by the private half of this Ed25519 public key. */
  verifyKey?: KeyInput;
  /** Check the bundle and report what would change; write nothing to the tree. */
  dryRun?: boolean;
  onProgress?: (progress: { step: "unpack" | "merge"; done: number; total: number }) => void;
}

export type ImportOutcome = "created" | "updated" | "unchanged" | "skipped";

export interface ImportReport {
  bundle: string;
  target: string;
  /** The id of the tree that exported the bundle, and the bundle's id (its manifest's SHA-256). */
  tree: string;
  manifestSha256: string;
  base: string | null;
  signed: boolean;
  verified: boolean;
  dryRun: boolean;
  experimentsCreated: string[];
  runs: { runId: string; experimentId?: string; outcome: ImportOutcome; partial: boolean }[];
  counts: Record<ImportOutcome, number> & MergeCounts;
  issues: ImportIssue[];
}

/**
 * A new staging folder inside the tree, on the filesystem the runs are renamed to: in experiment
 * 0's folder, where MLflow (and we) skip a folder without meta.yaml as no run (a `.tmp-` folder
 * directly in `.trash/` would stop MLflow listing deleted experiments). Only a tree without
 * experiment 0 (a new one) stages in `.trash/`. Nothing else is written before the bundle has
 * been checked.
 */
async function stagingFolder(target: FileStore): Promise<string> {
  for (const parent of [join(target.root, "0"), join(target.root, ".trash", "0")]) {
    if (statSync(parent, { throwIfNoEntry: false })?.isDirectory()) {
      return fs.mkdtemp(join(parent, `${TEMP_PREFIX}import-`));
    }
  }
  const trash = join(target.root, ".trash");
  await fs.mkdir(trash, { recursive: true });
  return fs.mkdtemp(join(trash, `${TEMP_PREFIX}import-`));
}

/** A tree's run's artifact folder (null: not on this disk). */
async function artifactsOf(root: string, runDir: string): Promise<string | null> {
  const runId = runDir.split(/[\\/]/).at(-1) as string;
  return artifactFolder(root, runDir, readRunMeta(runDir, runId, join(runDir, "meta.yaml")).info);
}

async function heldAsIs(
  target: FileStore,
  runs: Map<string, string>,
  path: string,
  data: Buffer,
): Promise<boolean> {
  const place = runFile(path);
  const runDir = place && runs.get(place.run);
  if (place === undefined || runDir === undefined || place.rest === "meta.yaml") return false;
  const [namespace, ...rest] = place.rest.split("/");
  const folder = namespace === "artifacts" ? await artifactsOf(target.root, runDir) : runDir;
  if (folder === null) return false;
  const here = readIfThere(
    join(folder, ...(namespace === "artifacts" ? rest : place.rest.split("/"))),
  );
  if (here === undefined) return false;
  return namespace === "metrics" ? holdsLines(here, data) : here.equals(data);
}

/**
 * The tree's experiment for each of the bundle's, by name: found, or created with its tags and
 * dataset records (in a dry run: undefined, and noted). A name deleted in the tree is reported,
 * and its runs are left out.
 */
async function matchExperiments(
  target: FileStore,
  staged: string,
  manifest: Manifest,
  report: ImportReport,
): Promise<Map<string, string | undefined>> {
  const named = experimentsByName(target.root);
  const ids = new Map<string, string | undefined>();
  for (const experiment of manifest.experiments) {
    const { name } = experiment;
    const found = named.get(name);
    if (found?.deleted) {
      report.issues.push({
        experiment: name,
        what: "experiment",
        message: `'${name}' is deleted in this tree; restore it (mlruns experiments restore), then import again`,
      });
      continue;
    }
    let id = found?.id;
    if (id === undefined) report.experimentsCreated.push(name);
    if (!report.dryRun) {
      id ??= (await createExperiment(target, name)).id;
      const tags = await readKeyValues(join(staged, experiment.id, "tags"));
      const present = found === undefined ? {} : await readKeyValues(join(found.dir, "tags"));
      await copyExperimentTags(target, id, name, tags, present, report.issues);
      await mergeDatasets(join(staged, experiment.id), join(target.root, id));
    }
    ids.set(experiment.id, id);
  }
  return ids;
}

export async function importBundle(options: ImportOptions): Promise<ImportReport> {
  const { target } = options;
  const dryRun = options.dryRun ?? false;
  const fresh = !(await target.exists());
  const hadFolder = await fs.stat(target.root).then(
    () => true,
    () => false,
  );
  const staging = await stagingFolder(target);
  try {
    // Runs the tree already holds: what of them it holds byte for byte need not be staged.
    const runs = treeRuns(target.root);
    const unpacked = await unpackBundle(options.bundle, staging, {
      ...(options.verifyKey === undefined ? {} : { verifyKey: options.verifyKey }),
      onProgress: (done, total) => options.onProgress?.({ step: "unpack", done, total }),
      alreadyHeld: async (path, data) => heldAsIs(target, runs, path, data),
    });
    const { manifest } = unpacked;
    const staged = join(staging, TREE);
    const contents = await checkStaged(staged, manifest);
    // A dry run writes nothing, not even the tree's id: a tree without one holds no run
    // that could match a bundle's origin anyway.
    const treeId = dryRun ? (treeIdIn(target.root) ?? randomUUID()) : await sourceId(target);
    const report: ImportReport = {
      bundle: typeof options.bundle === "string" ? options.bundle : "-",
      target: publicUri(target.uri),
      tree: manifest.tree,
      manifestSha256: unpacked.manifestSha256,
      base: manifest.base,
      signed: unpacked.signature !== undefined,
      verified: unpacked.verified,
      dryRun,
      experimentsCreated: [],
      runs: [],
      counts: {
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        points: 0,
        params: 0,
        tags: 0,
        artifacts: 0,
        bytes: 0,
      },
      issues: [],
    };

    const experimentIds = await matchExperiments(target, staged, manifest, report);
    const metrics = new MetricFiles();
    const tails = new Map(
      manifest.files.flatMap((f) =>
        f.from === undefined || f.base === undefined
          ? []
          : [[f.path, { from: f.from, base: f.base }]],
      ),
    );
    for (const [index, run] of manifest.runs.entries()) {
      options.onProgress?.({ step: "merge", done: index, total: manifest.runs.length });
      const note = (outcome: ImportOutcome, experimentId?: string) => {
        report.counts[outcome]++;
        report.runs.push({
          runId: run.id,
          ...(experimentId ? { experimentId } : {}),
          outcome,
          partial: run.partial,
        });
      };
      if (!experimentIds.has(run.experiment)) {
        note("skipped");
        continue;
      }
      const experimentId = experimentIds.get(run.experiment);
      const stagedRun = join(staged, run.experiment, run.id);
      let runDir = runs.get(run.id);
      if (runDir === undefined) {
        runDir = join(target.root, experimentId ?? "new", run.id);
        const placed =
          experimentId === undefined ||
          dryRun ||
          placeRun(stagedRun, runDir, experimentId, run, treeId);
        if (placed) {
          for (const [key, n] of Object.entries(contents.get(run.id) ?? {})) {
            report.counts[key as keyof MergeCounts] += n;
          }
          note("created", experimentId);
          continue;
        }
      }
      const origin = originInTree(runDir, treeId);
      if (origin !== run.origin) {
        report.issues.push({
          runId: run.id,
          what: "run",
          message: `this tree already holds another run with this id (from tree ${origin}, the bundle's is from ${run.origin}); left as it is`,
        });
        note("skipped");
        continue;
      }
      const merged = await mergeRun(
        stagedRun,
        {
          runDir,
          artifactDir: await artifactsOf(target.root, runDir),
          authority: origin === treeId,
        },
        run,
        {
          dryRun,
          metrics,
          issues: report.issues,
          tailOf: (rel) => tails.get(`${TREE}/${run.experiment}/${run.id}/${rel}`),
        },
      );
      for (const key of ["points", "params", "tags", "artifacts", "bytes"] as const)
        report.counts[key] += merged[key];
      const where = runDir.split(/[\\/]/).at(-2);
      note(merged.wrote ? "updated" : "unchanged", where);
    }
    options.onProgress?.({
      step: "merge",
      done: manifest.runs.length,
      total: manifest.runs.length,
    });
    return report;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    // A store writes nothing before its first write: a refused bundle leaves no tree behind.
    if (fresh) await removeStagingParents(target.root, hadFolder);
  }
}

/** Removes what staging left in a tree that did not exist: `.trash/` alone (and the folder). */
async function removeStagingParents(root: string, keepRoot: boolean): Promise<void> {
  const entries = await fs.readdir(root).catch(() => []);
  if (entries.length !== 1 || entries[0] !== ".trash") return;
  await fs.rmdir(join(root, ".trash")).catch(() => {});
  if (!keepRoot) await fs.rmdir(root).catch(() => {});
}
