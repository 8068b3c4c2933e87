import { promises as fs } from "node:fs";
import { join } from "node:path";
import { createFile, exists, replaceFile } from "../../atomic.ts";
import type { ModelStage, ModelVersion, RegisteredModel } from "../../entities.ts";
import {
  type RegistrySearchRequest,
  type SearchModelVersionsResult,
  type SearchRegisteredModelsResult,
  searchModelVersions,
  searchRegisteredModels,
} from "../../search/registry.ts";
import { CheckedRegistry } from "../checked-registry.ts";
import {
  aliasNotFound,
  type CreateModelVersionOptions,
  highestVersion,
  modelExists,
  newVersion,
  STAGE_DELETED_INTERNAL,
} from "../registry.ts";
import {
  type FileRegistryOptions,
  isTaken,
  META,
  ModelFolders,
  tempName,
  VERSION_PREFIX,
} from "./model-folders.ts";
import {
  modelDocument,
  type StoredModel,
  type StoredVersion,
  versionDocument,
} from "./registry-meta.ts";
import { toYaml } from "./yaml.ts";

export class FileRegistry extends CheckedRegistry {
  readonly #folders: ModelFolders;

  constructor(options: FileRegistryOptions) {
    super();
    this.#folders = new ModelFolders(options);
  }

  // ---- registered models ----

  protected async _createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string>; description?: string } = {},
  ): Promise<RegisteredModel> {
    const dir = this.#folders.modelDir(name);
    await this.#folders.stagingParent(); // the first write of a tree creates it
    return this.#folders.locked(async () => {
      if ((await this.#folders.readModel(dir, name).catch(() => null)) !== undefined)
        throw modelExists(name);
      const stage = await this.#folders.stage();
      try {
        const staged = join(stage, "model");
        await fs.mkdir(staged);
        await this.#folders.writeTags(staged, "registered model tag", options.tags ?? {});
        const now = Date.now();
        const model: StoredModel = {
          name,
          creationTimestamp: now,
          lastUpdatedTimestamp: now,
          description: options.description ?? null,
        };
        await createFile(join(staged, META), toYaml(modelDocument(model, {})), stage);
        await fs.mkdir(this.#folders.models, { recursive: true });
        try {
          await fs.rename(staged, dir);
        } catch (error) {
          if (isTaken(error)) throw modelExists(name);
          throw error;
        }
        return this.#folders.toModel(dir, model);
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _getRegisteredModel(name: string): Promise<RegisteredModel> {
    const { dir, model } = await this.#folders.existingModel(name);
    return this.#folders.toModel(dir, model);
  }

  async searchRegisteredModels(
    request: RegistrySearchRequest = {},
  ): Promise<SearchRegisteredModelsResult> {
    const models: RegisteredModel[] = [];
    for (const { dir, model } of await this.#folders.allModelDirs()) {
      const found = await this.#folders.reported(() => this.#folders.toModel(dir, model));
      if (found) models.push(found);
    }
    return searchRegisteredModels(models, request);
  }

  protected async _renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      if (newName === name) return this.#folders.toModel(dir, model);
      const target = this.#folders.modelDir(newName);
      if (await exists(join(target, META))) throw modelExists(newName);
      const stage = await this.#folders.stage();
      try {
        const staged = join(stage, "model");
        await fs.cp(dir, staged, { recursive: true });
        const now = Date.now();
        const renamed = { ...model, name: newName, lastUpdatedTimestamp: now };
        for (const number of await this.#folders.versionNumbers(staged)) {
          const stored = await this.#folders.readVersion(staged, number);
          if (stored !== undefined) {
            await this.#folders.writeVersion(staged, {
              ...stored,
              name: newName,
              lastUpdatedTimestamp: now,
            });
          }
        }
        await this.#folders.writeModel(staged, renamed);
        try {
          await fs.rename(staged, target);
        } catch (error) {
          if (isTaken(error)) throw modelExists(newName);
          throw error;
        }
        // The new model is complete and visible; now the old one goes, in one rename.
        await fs.rename(dir, join(stage, "old"));
        return this.#folders.toModel(target, renamed);
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _updateRegisteredModel(
    name: string,
    update: { description: string },
  ): Promise<RegisteredModel> {
    return this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      const updated = {
        ...model,
        description: update.description,
        lastUpdatedTimestamp: Date.now(),
      };
      await this.#folders.writeModel(dir, updated);
      return this.#folders.toModel(dir, updated);
    });
  }

  protected async _deleteRegisteredModel(name: string): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir } = await this.#folders.existingModel(name);
      const stage = await this.#folders.stage();
      try {
        await fs.rename(dir, join(stage, "deleted"));
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
    });
  }

  protected async _setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      await this.#folders.writeTags(dir, "registered model tag", { [key]: value });
      await this.#folders.touch(dir, model);
    });
  }

  protected async _deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      if (await this.#folders.removeTag(dir, key)) await this.#folders.touch(dir, model);
    });
  }

  // ---- versions ----

  protected async _createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    const { name } = options;
    return this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      const staged = join(dir, tempName());
      await fs.mkdir(staged);
      try {
        await this.#folders.writeTags(staged, "model version tag", options.tags ?? {});
        const now = Date.now();
        let number = Math.max(0, ...(await this.#folders.versionNumbers(dir))) + 1;
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
        await this.#folders.touch(dir, model, now);
        return this.#folders.toVersion(dir, stored, await this.#folders.aliases(dir));
      } finally {
        await fs.rm(staged, { recursive: true, force: true });
      }
    });
  }

  protected async _getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const { dir, stored } = await this.#folders.existingVersion(name, version);
    return this.#folders.toVersion(dir, stored, await this.#folders.aliases(dir));
  }

  protected async _updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion> {
    return this.#folders.locked(async () => {
      const { dir, stored } = await this.#folders.existingVersion(name, version);
      const updated = {
        ...stored,
        description: update.description,
        lastUpdatedTimestamp: Date.now(),
      };
      await this.#folders.writeVersion(dir, updated);
      return this.#folders.toVersion(dir, updated, await this.#folders.aliases(dir));
    });
  }

  protected async _deleteModelVersion(name: string, version: string): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model, stored } = await this.#folders.existingVersion(name, version);
      const now = Date.now();
      await this.#folders.writeVersion(dir, {
        ...stored,
        currentStage: STAGE_DELETED_INTERNAL,
        lastUpdatedTimestamp: now,
      });
      const aliases = await this.#folders.aliases(dir);
      for (const [alias, v] of Object.entries(aliases)) {
        if (v === stored.version) await fs.rm(join(dir, "aliases", alias), { force: true });
      }
      await this.#folders.touch(dir, model, now);
    });
  }

  async searchModelVersions(
    request: RegistrySearchRequest = {},
  ): Promise<SearchModelVersionsResult> {
    const versions: ModelVersion[] = [];
    for (const { dir } of await this.#folders.allModelDirs()) {
      const found = await this.#folders.reported(async () =>
        this.#folders.visibleVersions(dir, await this.#folders.aliases(dir)),
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
    await this.#folders.locked(async () => {
      const { dir, model, stored } = await this.#folders.existingVersion(name, version);
      const versionDir = join(dir, `${VERSION_PREFIX}${stored.version}`);
      await this.#folders.writeTags(versionDir, "model version tag", { [key]: value });
      await this.#folders.touch(dir, model);
    });
  }

  protected async _deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
  ): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model, stored } = await this.#folders.existingVersion(name, version);
      const versionDir = join(dir, `${VERSION_PREFIX}${stored.version}`);
      if (await this.#folders.removeTag(versionDir, key)) await this.#folders.touch(dir, model);
    });
  }

  protected async _transitionModelVersionStage(
    name: string,
    version: string,
    canonical: ModelStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    return this.#folders.locked(async () => {
      const { dir, model, stored } = await this.#folders.existingVersion(name, version);
      const now = Date.now();
      if (archiveExistingVersions) {
        for (const number of await this.#folders.versionNumbers(dir)) {
          if (String(number) === stored.version) continue;
          const other = await this.#folders.readVersion(dir, number);
          if (other?.currentStage === canonical) {
            await this.#folders.writeVersion(dir, {
              ...other,
              currentStage: "Archived",
              lastUpdatedTimestamp: now,
            });
          }
        }
      }
      const updated = { ...stored, currentStage: canonical, lastUpdatedTimestamp: now };
      await this.#folders.writeVersion(dir, updated);
      await this.#folders.touch(dir, model, now);
      return this.#folders.toVersion(dir, updated, await this.#folders.aliases(dir));
    });
  }

  // ---- aliases ----

  protected async _setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
  ): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model, stored } = await this.#folders.existingVersion(name, version);
      await fs.mkdir(join(dir, "aliases"), { recursive: true });
      await replaceFile(join(dir, "aliases", alias), stored.version, dir);
      await this.#folders.touch(dir, model);
    });
  }

  protected async _deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.#folders.locked(async () => {
      const { dir, model } = await this.#folders.existingModel(name);
      const file = join(dir, "aliases", alias);
      if (!(await exists(file))) return;
      await fs.rm(file, { force: true });
      await this.#folders.touch(dir, model);
    });
  }

  protected async _getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const { dir } = await this.#folders.existingModel(name);
    const aliases = await this.#folders.aliases(dir);
    const version =
      alias.toLowerCase() === "latest"
        ? highestVersion(await this.#folders.visibleVersions(dir, aliases))
        : aliases[alias];
    if (version === undefined) throw aliasNotFound(name, alias);
    return this._getModelVersion(name, version);
  }

  protected async _getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const { stored } = await this.#folders.existingVersion(name, version);
    return stored.storageLocation || stored.source;
  }

  /** The folder the registry lives in (`<root>/models`). */
  get directory(): string {
    return this.#folders.models;
  }

  /** The tree root this registry belongs to. */
  get root(): string {
    return this.#folders.root;
  }
}
