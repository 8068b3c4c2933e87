/**
 * Copies the model registry after the runs: registered models by name (with description and
 * tags), then each version in order with its source rewritten to the target's copy of the run
 * (`runs:/<local id>/model` → `runs:/<target id>/model`), its tags, description and stage, then
 * the aliases. A version carries `mlruns.source.model_version` and `mlruns.source.tree`, so it is
 * found again instead of being created twice (target version numbers are the target's own).
 */

import type { ModelVersion, RegisteredModel } from "../entities.ts";
import { isMlflowError } from "../errors.ts";
import type { RegistryStore } from "../store/registry.ts";
import { isItemError, type SyncIssue } from "./copy.ts";
import { SOURCE_TAGS } from "./identity.ts";

export const MODEL_VERSION_TAG = "mlruns.source.model_version";

export interface RegistryCopyContext {
  source: RegistryStore;
  target: RegistryStore;
  sourceTree: string;
  /** The target's id of a source run, when the run is there. */
  targetRunId: (sourceRunId: string) => string | undefined;
  dryRun: boolean;
  issues: SyncIssue[];
}

export interface RegistryCounts {
  models: number;
  versions: number;
}

async function allPages<T>(
  fetch: (pageToken?: string) => Promise<{ items: T[]; nextPageToken?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  return items;
}

const quote = (text: string) => `'${text.replaceAll("'", "\\'")}'`;

/** The source version's `source`, pointing at the target's copy of its run. */
function targetSource(version: ModelVersion, context: RegistryCopyContext): string | SyncIssue {
  const what = `model ${version.name} version ${version.version}`;
  const runs = /^runs:\/([^/]+)\/(.*)$/.exec(version.source);
  if (runs) {
    const runId = context.targetRunId(runs[1] as string);
    if (runId === undefined) {
      return { what, message: `its run ${runs[1]} is not on the target; sync that run first` };
    }
    return `runs:/${runId}/${runs[2]}`;
  }
  if (version.source.startsWith("file:") || version.source.startsWith("/")) {
    return {
      what,
      message: `its source ${version.source} is a local path the server cannot reach`,
    };
  }
  return version.source;
}

async function ensureModel(model: RegisteredModel, context: RegistryCopyContext): Promise<boolean> {
  const { target } = context;
  let existing: RegisteredModel | undefined;
  try {
    existing = await target.getRegisteredModel(model.name);
  } catch (error) {
    if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
  }
  if (context.dryRun) return existing === undefined;
  if (existing === undefined) {
    await target.createRegisteredModel(
      model.name,
      model.description ? { description: model.description } : {},
    );
  } else if (model.description && existing.description !== model.description) {
    await target.updateRegisteredModel(model.name, { description: model.description });
  }
  for (const [key, value] of Object.entries(model.tags)) {
    if (existing?.tags[key] === value) continue;
    try {
      await target.setRegisteredModelTag(model.name, key, value);
    } catch (error) {
      if (!isMlflowError(error, "INVALID_PARAMETER_VALUE")) throw error;
      context.issues.push({ what: `model ${model.name} tag ${key}`, message: error.message });
    }
  }
  return existing === undefined;
}

/** The target's copy of a source version, found by its identity tags. */
async function findVersion(
  version: ModelVersion,
  context: RegistryCopyContext,
): Promise<ModelVersion | undefined> {
  const filter =
    `name = ${quote(version.name)} and tags.\`${MODEL_VERSION_TAG}\` = '${version.version}' ` +
    `and tags.\`${SOURCE_TAGS.tree}\` = ${quote(context.sourceTree)}`;
  const { versions } = await context.target.searchModelVersions({ filter, maxResults: 10 });
  return versions[0];
}

/** Copies one version; returns its number on the target and whether it is new there. */
async function copyVersion(
  version: ModelVersion,
  context: RegistryCopyContext,
): Promise<{ version: string; created: boolean } | undefined> {
  const source = targetSource(version, context);
  if (typeof source !== "string") {
    context.issues.push(source);
    return undefined;
  }
  const found = await findVersion(version, context);
  if (context.dryRun) return { version: found?.version ?? "new", created: found === undefined };
  const target =
    found ??
    (await context.target.createModelVersion({
      name: version.name,
      source,
      ...(source.startsWith("runs:/") ? { runId: source.split("/")[1] as string } : {}),
      ...(version.description ? { description: version.description } : {}),
      tags: {
        ...version.tags,
        [MODEL_VERSION_TAG]: version.version,
        [SOURCE_TAGS.tree]: context.sourceTree,
      },
    }));
  if (found) {
    for (const [key, value] of Object.entries(version.tags)) {
      if (found.tags[key] !== value)
        await context.target.setModelVersionTag(version.name, found.version, key, value);
    }
  }
  if (version.currentStage !== target.currentStage && version.currentStage !== "None") {
    await context.target.transitionModelVersionStage(
      version.name,
      target.version,
      version.currentStage,
      false,
    );
  }
  return { version: target.version, created: found === undefined };
}

/** Copies every registered model of the source; returns how many models and versions were new. */
export async function copyRegistry(context: RegistryCopyContext): Promise<RegistryCounts> {
  const counts: RegistryCounts = { models: 0, versions: 0 };
  const models = await allPages(async (pageToken) => {
    const page = await context.source.searchRegisteredModels(pageToken ? { pageToken } : {});
    return {
      items: page.models,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  });
  for (const model of models) {
    try {
      await copyModel(model, context, counts);
    } catch (error) {
      if (!isItemError(error)) throw error;
      context.issues.push({ what: `model ${model.name}`, message: error.message });
    }
  }
  return counts;
}

/** Copies one registered model with its versions and aliases; a refused version is reported. */
async function copyModel(
  model: RegisteredModel,
  context: RegistryCopyContext,
  counts: RegistryCounts,
): Promise<void> {
  if (await ensureModel(model, context)) counts.models++;
  const versions = await allPages(async (pageToken) => {
    const page = await context.source.searchModelVersions({
      filter: `name = ${quote(model.name)}`,
      ...(pageToken ? { pageToken } : {}),
    });
    return {
      items: page.versions,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  });
  versions.sort((a, b) => Number(a.version) - Number(b.version));
  const targetVersion = new Map<string, string>();
  for (const version of versions) {
    let copied: Awaited<ReturnType<typeof copyVersion>>;
    try {
      copied = await copyVersion(version, context);
    } catch (error) {
      if (!isItemError(error)) throw error;
      const what = `model ${version.name} version ${version.version}`;
      context.issues.push({ what, message: error.message });
      continue;
    }
    if (copied === undefined) continue;
    targetVersion.set(version.version, copied.version);
    if (copied.created) counts.versions++;
  }
  if (context.dryRun) return;
  for (const [alias, version] of Object.entries(model.aliases)) {
    const mapped = targetVersion.get(version);
    if (mapped !== undefined)
      await context.target.setRegisteredModelAlias(model.name, alias, mapped);
  }
}
