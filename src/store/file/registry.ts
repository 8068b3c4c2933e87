/**
 * The model registry of a FileStore: `<root>/models/<name>/` as MLflow's registry file store lays
 * it out (mlruns-format.md §4), written crash-safe and safe with concurrent writers:
 *
 * - meta.yaml is replaced whole (temp file in the model or version folder, then rename); tag and
 *   alias files likewise, with their temp files in the model or version folder, never inside
 *   tags/ or aliases/ (MLflow reads every file there as a key).
 * - A new model is built complete in a staging folder (inside experiment 0, as new experiments
 *   are) and renamed into `models/`; a new version is built in a `.tmp-*` folder of its model
 *   (MLflow only reads `version-*` folders) and renamed to `version-N`. A rename onto an existing
 *   folder fails, so two creators (processes too) never get the same name or number.
 * - Writers also hold a lock file at the root (`.mlruns-registry.lock`) for read-modify-write
 *   steps (timestamps, stages, renames).
 * - Rename: copy the model folder to staging, rewrite every name there, rename it in as the new
 *   name, then move the old folder out and remove it. A crash leaves either the old model alone,
 *   or both the old and the complete new one, never a half-renamed folder. Tags and aliases are
 *   kept (MLflow's own rename drops them).
 * - Delete: the model folder is renamed out of `models/` in one step, then removed.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import {
  createFile,
  exists,
  isMissing,
  readDirIfExists,
  replaceFile,
  TEMP_PREFIX,
} from "../../atomic.ts";
import type { ModelStage, ModelVersion, RegisteredModel } from "../../entities.ts";
import { withLock } from "../../lock.ts";
import {
  type RegistrySearchRequest,
  type SearchModelVersionsResult,
  type SearchRegisteredModelsResult,
  searchModelVersions,
  searchRegisteredModels,
} from "../../search/registry.ts";
import { REGISTRY_LOCK_FILE } from "../../tree-files.ts";
import { CheckedRegistry } from "../checked-registry.ts";
import {
  aliasNotFound,
  type CreateModelVersionOptions,
  highestVersion,
  latestVersions,
  modelExists,
  modelNotFound,
  newVersion,
  STAGE_DELETED_INTERNAL,
  versionNotFound,
} from "../registry.ts";
import { prepareKeyFile, readKeyValues } from "./key-files.ts";
import { REGISTRY } from "./layout.ts";
import { asTreeError, type ProblemHandler, TreeError, utf8Text } from "./problems.ts";
import {
  modelDocument,
  readModelDocument,
  readVersionDocument,
  type StoredModel,
  type StoredVersion,
  versionDocument,
} from "./registry-meta.ts";
import { fromYaml, toYaml, yamlProblem } from "./yaml.ts";

const VERSION_PREFIX = "version-";
const META = "meta.yaml";

const isTaken = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EEXIST" || code === "ENOTEMPTY" || code === "EISDIR";
};

const tempName = () => `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`;

export interface FileRegistryOptions {
  root: string;
  /** False while the store has no tree yet (nothing to read); throws for a folder that is not one. */
  hasTree: () => Promise<boolean>;
  /** A folder on the same filesystem where MLflow never looks, for building models. */
  stagingParent: () => Promise<string>;
  onProblem: ProblemHandler;
}

export class FileRegistry extends CheckedRegistry {
  readonly #root: string;
  readonly #models: string;
  readonly #lock: string;
  readonly #stagingParent: () => Promise<string>;
  readonly #hasTree: () => Promise<boolean>;
  readonly #onProblem: ProblemHandler;

  constructor(options: FileRegistryOptions) {
    super();
    this.#root = options.root;
    this.#models = join(options.root, REGISTRY);
    this.#lock = join(options.root, REGISTRY_LOCK_FILE);
    this.#stagingParent = options.stagingParent;
    this.#hasTree = options.hasTree;
    this.#onProblem = options.onProblem;
  }

  // ---- reading ----

  #modelDir(name: string): string {
    return join(this.#models, name);
  }

  /** A meta.yaml document; undefined when missing, a TreeError naming it when unreadable. */
  async #readYaml(path: string): Promise<unknown> {
    let text: string;
    try {
      text = utf8Text(path, await fs.readFile(path));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw asTreeError(path, error);
    }
    if (text.trim() === "") throw new TreeError({ path, message: "meta.yaml is empty" });
    try {
      return fromYaml(text);
    } catch (error) {
      throw new TreeError({ path, message: yamlProblem(error) });
    }
  }

  /** The stored model, or undefined when its folder (or meta.yaml) does not exist. */
  async #readModel(dir: string, folderName: string): Promise<StoredModel | undefined> {
    const document = await this.#readYaml(join(dir, META));
    if (document === undefined) return undefined;
    const model = readModelDocument(document, folderName);
    if (typeof model === "string") throw new TreeError({ path: join(dir, META), message: model });
    return model;
  }

  async #existingModel(name: string): Promise<{ dir: string; model: StoredModel }> {
    const dir = this.#modelDir(name);
    const model = (await this.#hasTree()) ? await this.#readModel(dir, name) : undefined;
    if (model === undefined) throw modelNotFound(name);
    return { dir, model };
  }

  /** The model's aliases; an alias file that cannot be read is reported and skipped. */
  async #aliases(dir: string): Promise<Record<string, string>> {
    let names: string[];
    try {
      names = await fs.readdir(join(dir, "aliases"));
    } catch (error) {
      if (isMissing(error)) return {};
      throw asTreeError(join(dir, "aliases"), error);
    }
    const aliases: Record<string, string> = {};
    for (const name of names.sort()) {
      const path = join(dir, "aliases", name);
      try {
        aliases[name] = utf8Text(path, await fs.readFile(path)).trim();
      } catch (error) {
        if (!isMissing(error)) this.#onProblem(asTreeError(path, error).problem);
      }
    }
    return aliases;
  }

  /** Every version folder of a model (deleted ones too), by number. */
  async #versionNumbers(dir: string): Promise<number[]> {
    return (await readDirIfExists(dir))
      .filter((e) => e.isDirectory() && e.name.startsWith(VERSION_PREFIX))
      .map((e) => Number(e.name.slice(VERSION_PREFIX.length)))
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b);
  }

  async #readVersion(dir: string, number: number): Promise<StoredVersion | undefined> {
    const path = join(dir, `${VERSION_PREFIX}${number}`, META);
    const document = await this.#readYaml(path);
    if (document === undefined) return undefined;
    const version = readVersionDocument(document);
    if (typeof version === "string") throw new TreeError({ path, message: version });
    return version;
  }

  async #toVersion(
    dir: string,
    stored: StoredVersion,
    aliases: Record<string, string>,
  ): Promise<ModelVersion> {
    const { storageLocation: _, ...version } = stored;
    const tags = await readKeyValues(join(dir, `${VERSION_PREFIX}${stored.version}`, "tags"));
    const pointing = Object.keys(aliases).filter((a) => aliases[a] === stored.version);
    return { ...version, tags, aliases: pointing.sort() };
  }

  /** The visible versions of a model (broken ones reported and skipped). */
  async #visibleVersions(dir: string, aliases: Record<string, string>): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    for (const number of await this.#versionNumbers(dir)) {
      try {
        const stored = await this.#readVersion(dir, number);
        if (stored === undefined || stored.currentStage === STAGE_DELETED_INTERNAL) continue;
        versions.push(await this.#toVersion(dir, stored, aliases));
      } catch (error) {
        if (!(error instanceof TreeError)) throw error;
        this.#onProblem(error.problem);
      }
    }
    return versions;
  }

  async #toModel(dir: string, model: StoredModel): Promise<RegisteredModel> {
    const aliases = await this.#aliases(dir);
    return {
      ...model,
      tags: await readKeyValues(join(dir, "tags")),
      aliases,
      latestVersions: latestVersions(await this.#visibleVersions(dir, aliases)),
    };
  }

  /** `read()`, or undefined when it meets a broken file (reported): listings go on. */
  async #reported<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof TreeError)) throw error;
      this.#onProblem(error.problem);
      return undefined;
    }
  }

  async #allModelDirs(): Promise<{ dir: string; model: StoredModel }[]> {
    if (!(await this.#hasTree())) return [];
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(this.#models, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const found: { dir: string; model: StoredModel }[] = [];
    for (const entry of entries.filter((e) => e.isDirectory())) {
      const dir = join(this.#models, entry.name);
      try {
        const model = await this.#readModel(dir, entry.name);
        if (model === undefined) {
          this.#onProblem({ path: dir, message: "model folder without meta.yaml (skipped)" });
        } else found.push({ dir, model });
      } catch (error) {
        if (!(error instanceof TreeError)) throw error;
        this.#onProblem(error.problem);
      }
    }
    return found;
  }

  async #existingVersion(
    name: string,
    version: string,
  ): Promise<{ dir: string; model: StoredModel; stored: StoredVersion }> {
    const number = Number(version);
    const { dir, model } = await this.#existingModel(name);
    const stored = await this.#readVersion(dir, number);
    if (stored === undefined || stored.currentStage === STAGE_DELETED_INTERNAL) {
      throw versionNotFound(name, String(number));
    }
    return { dir, model, stored };
  }

  // ---- writing helpers ----

  /** Runs `work` holding the registry lock; without a tree there is nothing to lock (or find). */
  async #locked<T>(work: () => Promise<T>): Promise<T> {
    return (await this.#hasTree()) ? withLock(this.#lock, work) : work();
  }

  async #writeModel(dir: string, model: StoredModel): Promise<void> {
    const document = modelDocument(model, await this.#aliases(dir));
    await replaceFile(join(dir, META), toYaml(document), dir);
  }

  /** Bumps the model's last_updated_timestamp (MLflow does on every version, tag, alias change). */
  async #touch(dir: string, model: StoredModel, now = Date.now()): Promise<void> {
    await this.#writeModel(dir, { ...model, lastUpdatedTimestamp: now });
  }

  async #writeVersion(dir: string, version: StoredVersion): Promise<void> {
    const versionDir = join(dir, `${VERSION_PREFIX}${version.version}`);
    await replaceFile(join(versionDir, META), toYaml(versionDocument(version)), versionDir);
  }

  async #writeTags(owner: string, kind: string, tags: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(tags)) {
      const file = prepareKeyFile(join(owner, "tags"), kind, key);
      await replaceFile(file, value, owner);
    }
  }

  /** True when the tag was there; a missing tag is not an error, as in MLflow. */
  async #removeTag(owner: string, key: string): Promise<boolean> {
    const file = join(owner, "tags", ...key.split("/"));
    try {
      if (!(await fs.stat(file)).isFile()) return false;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await fs.rm(file, { force: true });
    return true;
  }

  /** A fresh staging folder (same filesystem, invisible to MLflow); removed by the caller. */
  async #stage(): Promise<string> {
    const stage = join(await this.#stagingParent(), tempName());
    await fs.mkdir(stage, { recursive: true });
    return stage;
  }

  // ---- registered models ----

  protected async _createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string>; description?: string } = {},
  ): Promise<RegisteredModel> {
    const dir = this.#modelDir(name);
    await this.#stagingParent(); // the first write of a tree creates it
    return this.#locked(async () => {
      if ((await this.#readModel(dir, name).catch(() => null)) !== undefined)
        throw modelExists(name);
      const stage = await this.#stage();
      try {
        const staged = join(stage, "model");
        await fs.mkdir(staged);
        await this.#writeTags(staged, "registered model tag", options.tags ?? {});
        const now = Date.now();
        const model: StoredModel = {
          name,
          creationTimestamp: now,
          lastUpdatedTimestamp: now,
          description: options.description ?? null,
        };
        await createFile(join(staged, META), toYaml(modelDocument(model, {})), stage);
        await fs.mkdir(this.#models, { recursive: true });
        try {
          await fs.rename(staged, dir);
        } catch (error) {
          if (isTaken(error)) throw modelExists(name);
          throw error;
        }
        return this.#toModel(dir, model);
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _getRegisteredModel(name: string): Promise<RegisteredModel> {
    const { dir, model } = await this.#existingModel(name);
    return this.#toModel(dir, model);
  }

  async searchRegisteredModels(
    request: RegistrySearchRequest = {},
  ): Promise<SearchRegisteredModelsResult> {
    const models: RegisteredModel[] = [];
    for (const { dir, model } of await this.#allModelDirs()) {
      const found = await this.#reported(() => this.#toModel(dir, model));
      if (found) models.push(found);
    }
    return searchRegisteredModels(models, request);
  }

  protected async _renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      if (newName === name) return this.#toModel(dir, model);
      const target = this.#modelDir(newName);
      if (await exists(join(target, META))) throw modelExists(newName);
      const stage = await this.#stage();
      try {
        const staged = join(stage, "model");
        await fs.cp(dir, staged, { recursive: true });
        const now = Date.now();
        const renamed = { ...model, name: newName, lastUpdatedTimestamp: now };
        for (const number of await this.#versionNumbers(staged)) {
          const stored = await this.#readVersion(staged, number);
          if (stored !== undefined) {
            await this.#writeVersion(staged, {
              ...stored,
              name: newName,
              lastUpdatedTimestamp: now,
            });
          }
        }
        await this.#writeModel(staged, renamed);
        try {
          await fs.rename(staged, target);
        } catch (error) {
          if (isTaken(error)) throw modelExists(newName);
          throw error;
        }
        // The new model is complete and visible; now the old one goes, in one rename.
        await fs.rename(dir, join(stage, "old"));
        return this.#toModel(target, renamed);
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _updateRegisteredModel(
    name: string,
    update: { description: string },
  ): Promise<RegisteredModel> {
    return this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      const updated = {
        ...model,
        description: update.description,
        lastUpdatedTimestamp: Date.now(),
      };
      await this.#writeModel(dir, updated);
      return this.#toModel(dir, updated);
    });
  }

  protected async _deleteRegisteredModel(name: string): Promise<void> {
    await this.#locked(async () => {
      const { dir } = await this.#existingModel(name);
      const stage = await this.#stage();
      try {
        await fs.rename(dir, join(stage, "deleted"));
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      await this.#writeTags(dir, "registered model tag", { [key]: value });
      await this.#touch(dir, model);
    });
  }

  protected async _deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      if (await this.#removeTag(dir, key)) await this.#touch(dir, model);
    });
  }

  // ---- versions ----

  protected async _createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    const { name } = options;
    return this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      const staged = join(dir, tempName());
      await fs.mkdir(staged);
      try {
        await this.#writeTags(staged, "model version tag", options.tags ?? {});
        const now = Date.now();
        let number = Math.max(0, ...(await this.#versionNumbers(dir))) + 1;
        const stored: StoredVersion = {
          ...newVersion(model.name, number, options, now),
          storageLocation: options.storageLocation ?? options.source,
        };
        // The number is claimed by the rename: another process that took it makes it fail.
        for (let attempt = 0; ; attempt++) {
          stored.version = String(number);
          await fs.rm(join(staged, META), { force: true });
          await createFile(join(staged, META), toYaml(versionDocument(stored)), dir);
          const target = join(dir, `${VERSION_PREFIX}${number}`);
          try {
            if (await exists(join(target, META))) {
              throw Object.assign(new Error("taken"), { code: "EEXIST" });
            }
            await fs.rename(staged, target);
            break;
          } catch (error) {
            if (!isTaken(error) || attempt > 100) throw error;
            number++;
          }
        }
        await this.#touch(dir, model, now);
        return this.#toVersion(dir, stored, await this.#aliases(dir));
      } finally {
        await fs.rm(staged, { recursive: true, force: true });
      }
    });
  }

  protected async _getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const { dir, stored } = await this.#existingVersion(name, version);
    return this.#toVersion(dir, stored, await this.#aliases(dir));
  }

  protected async _updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion> {
    return this.#locked(async () => {
      const { dir, stored } = await this.#existingVersion(name, version);
      const updated = {
        ...stored,
        description: update.description,
        lastUpdatedTimestamp: Date.now(),
      };
      await this.#writeVersion(dir, updated);
      return this.#toVersion(dir, updated, await this.#aliases(dir));
    });
  }

  protected async _deleteModelVersion(name: string, version: string): Promise<void> {
    await this.#locked(async () => {
      const { dir, model, stored } = await this.#existingVersion(name, version);
      const now = Date.now();
      await this.#writeVersion(dir, {
        ...stored,
        currentStage: STAGE_DELETED_INTERNAL,
        lastUpdatedTimestamp: now,
      });
      const aliases = await this.#aliases(dir);
      for (const [alias, v] of Object.entries(aliases)) {
        if (v === stored.version) await fs.rm(join(dir, "aliases", alias), { force: true });
      }
      await this.#touch(dir, model, now);
    });
  }

  async searchModelVersions(
    request: RegistrySearchRequest = {},
  ): Promise<SearchModelVersionsResult> {
    const versions: ModelVersion[] = [];
    for (const { dir } of await this.#allModelDirs()) {
      const found = await this.#reported(async () =>
        this.#visibleVersions(dir, await this.#aliases(dir)),
      );
      versions.push(...(found ?? []));
    }
    return searchModelVersions(versions, request);
  }

  protected async _setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    await this.#locked(async () => {
      const { dir, model, stored } = await this.#existingVersion(name, version);
      const versionDir = join(dir, `${VERSION_PREFIX}${stored.version}`);
      await this.#writeTags(versionDir, "model version tag", { [key]: value });
      await this.#touch(dir, model);
    });
  }

  protected async _deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
  ): Promise<void> {
    await this.#locked(async () => {
      const { dir, model, stored } = await this.#existingVersion(name, version);
      const versionDir = join(dir, `${VERSION_PREFIX}${stored.version}`);
      if (await this.#removeTag(versionDir, key)) await this.#touch(dir, model);
    });
  }

  protected async _transitionModelVersionStage(
    name: string,
    version: string,
    canonical: ModelStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    return this.#locked(async () => {
      const { dir, model, stored } = await this.#existingVersion(name, version);
      const now = Date.now();
      if (archiveExistingVersions) {
        for (const number of await this.#versionNumbers(dir)) {
          if (String(number) === stored.version) continue;
          const other = await this.#readVersion(dir, number);
          if (other?.currentStage === canonical) {
            await this.#writeVersion(dir, {
              ...other,
              currentStage: "Archived",
              lastUpdatedTimestamp: now,
            });
          }
        }
      }
      const updated = { ...stored, currentStage: canonical, lastUpdatedTimestamp: now };
      await this.#writeVersion(dir, updated);
      await this.#touch(dir, model, now);
      return this.#toVersion(dir, updated, await this.#aliases(dir));
    });
  }

  // ---- aliases ----

  protected async _setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
  ): Promise<void> {
    await this.#locked(async () => {
      const { dir, model, stored } = await this.#existingVersion(name, version);
      await fs.mkdir(join(dir, "aliases"), { recursive: true });
      await replaceFile(join(dir, "aliases", alias), stored.version, dir);
      await this.#touch(dir, model);
    });
  }

  protected async _deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.#locked(async () => {
      const { dir, model } = await this.#existingModel(name);
      const file = join(dir, "aliases", alias);
      if (!(await exists(file))) return;
      await fs.rm(file, { force: true });
      await this.#touch(dir, model);
    });
  }

  protected async _getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const { dir } = await this.#existingModel(name);
    const aliases = await this.#aliases(dir);
    const version =
      alias.toLowerCase() === "latest"
        ? highestVersion(await this.#visibleVersions(dir, aliases))
        : aliases[alias];
    if (version === undefined) throw aliasNotFound(name, alias);
    return this._getModelVersion(name, version);
  }

  protected async _getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const { stored } = await this.#existingVersion(name, version);
    return stored.storageLocation || stored.source;
  }

  /** The folder the registry lives in (`<root>/models`). */
  get directory(): string {
    return this.#models;
  }

  /** The tree root this registry belongs to. */
  get root(): string {
    return this.#root;
  }
}
