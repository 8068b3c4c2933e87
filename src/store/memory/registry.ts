/**
 * The model registry of the MemoryStore, with the semantics of MLflow's registry (and of our
 * FileStore): version numbers never reused, deleted versions kept hidden, aliases dropped with
 * their version, tags and aliases kept across a rename. Everything is copied in and out.
 */

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
  latestVersions,
  modelExists,
  modelNotFound,
  newVersion,
  STAGE_DELETED_INTERNAL,
  versionNotFound,
} from "../registry.ts";

interface VersionState {
  version: ModelVersion;
  storageLocation: string;
}

interface ModelState {
  name: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  description: string | null;
  tags: Map<string, string>;
  aliases: Map<string, string>;
  versions: Map<number, VersionState>;
}

export class MemoryRegistry extends CheckedRegistry {
  readonly #models = new Map<string, ModelState>();

  #model(name: string): ModelState {
    const model = this.#models.get(name);
    if (model === undefined) throw modelNotFound(name);
    return model;
  }

  #version(name: string, version: string): { model: ModelState; state: VersionState } {
    const number = Number(version);
    const model = this.#model(name);
    const state = model.versions.get(number);
    if (state === undefined || state.version.currentStage === STAGE_DELETED_INTERNAL) {
      throw versionNotFound(name, String(number));
    }
    return { model, state };
  }

  #toVersion(model: ModelState, state: VersionState): ModelVersion {
    const aliases = [...model.aliases]
      .filter(([, v]) => v === state.version.version)
      .map(([a]) => a)
      .sort();
    return { ...structuredClone(state.version), aliases };
  }

  #visible(model: ModelState): ModelVersion[] {
    return [...model.versions.values()]
      .filter((s) => s.version.currentStage !== STAGE_DELETED_INTERNAL)
      .map((s) => this.#toVersion(model, s));
  }

  #toModel(model: ModelState): RegisteredModel {
    return {
      name: model.name,
      creationTimestamp: model.creationTimestamp,
      lastUpdatedTimestamp: model.lastUpdatedTimestamp,
      description: model.description,
      tags: Object.fromEntries(model.tags),
      aliases: Object.fromEntries(model.aliases),
      latestVersions: latestVersions(this.#visible(model)),
    };
  }

  protected async _createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string>; description?: string } = {},
  ): Promise<RegisteredModel> {
    if (this.#models.has(name)) throw modelExists(name);
    const now = Date.now();
    const model: ModelState = {
      name,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      description: options.description ?? null,
      tags: new Map(Object.entries(options.tags ?? {})),
      aliases: new Map(),
      versions: new Map(),
    };
    this.#models.set(name, model);
    return this.#toModel(model);
  }

  protected async _getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.#toModel(this.#model(name));
  }

  async searchRegisteredModels(
    request: RegistrySearchRequest = {},
  ): Promise<SearchRegisteredModelsResult> {
    const all = [...this.#models.values()].map((m) => this.#toModel(m));
    return searchRegisteredModels(all, request);
  }

  protected async _renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const model = this.#model(name);
    if (newName === name) return this.#toModel(model);
    if (this.#models.has(newName)) throw modelExists(newName);
    const now = Date.now();
    model.name = newName;
    model.lastUpdatedTimestamp = now;
    for (const state of model.versions.values()) {
      state.version.name = newName;
      state.version.lastUpdatedTimestamp = now;
    }
    this.#models.delete(name);
    this.#models.set(newName, model);
    return this.#toModel(model);
  }

  protected async _updateRegisteredModel(
    name: string,
    update: { description: string },
  ): Promise<RegisteredModel> {
    const model = this.#model(name);
    model.description = update.description;
    model.lastUpdatedTimestamp = Date.now();
    return this.#toModel(model);
  }

  protected async _deleteRegisteredModel(name: string): Promise<void> {
    this.#model(name);
    this.#models.delete(name);
  }

  protected async _setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    const model = this.#model(name);
    model.tags.set(key, value);
    model.lastUpdatedTimestamp = Date.now();
  }

  protected async _deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    const model = this.#model(name);
    // A missing tag is not an error, as in MLflow.
    if (model.tags.delete(key)) model.lastUpdatedTimestamp = Date.now();
  }

  protected async _createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    const model = this.#model(options.name);
    const number = Math.max(0, ...model.versions.keys()) + 1;
    const now = Date.now();
    const version: ModelVersion = {
      ...newVersion(model.name, number, options, now),
      tags: { ...options.tags },
      aliases: [],
    };
    model.versions.set(number, {
      version,
      storageLocation: options.storageLocation ?? options.source,
    });
    model.lastUpdatedTimestamp = now;
    return this.#toVersion(model, model.versions.get(number) as VersionState);
  }

  protected async _getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const { model, state } = this.#version(name, version);
    return this.#toVersion(model, state);
  }

  protected async _updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion> {
    const { model, state } = this.#version(name, version);
    state.version.description = update.description;
    state.version.lastUpdatedTimestamp = Date.now();
    return this.#toVersion(model, state);
  }

  protected async _deleteModelVersion(name: string, version: string): Promise<void> {
    const { model, state } = this.#version(name, version);
    const now = Date.now();
    state.version.currentStage = STAGE_DELETED_INTERNAL;
    state.version.lastUpdatedTimestamp = now;
    for (const [alias, v] of model.aliases) {
      if (v === state.version.version) model.aliases.delete(alias);
    }
    model.lastUpdatedTimestamp = now;
  }

  async searchModelVersions(
    request: RegistrySearchRequest = {},
  ): Promise<SearchModelVersionsResult> {
    const all = [...this.#models.values()].flatMap((m) => this.#visible(m));
    return searchModelVersions(all, request);
  }

  protected async _setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    const { model, state } = this.#version(name, version);
    state.version.tags[key] = value;
    model.lastUpdatedTimestamp = Date.now();
  }

  protected async _deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
  ): Promise<void> {
    const { model, state } = this.#version(name, version);
    if (!Object.hasOwn(state.version.tags, key)) return;
    delete state.version.tags[key];
    model.lastUpdatedTimestamp = Date.now();
  }

  protected async _transitionModelVersionStage(
    name: string,
    version: string,
    canonical: ModelStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    const { model, state } = this.#version(name, version);
    const now = Date.now();
    if (archiveExistingVersions) {
      for (const other of model.versions.values()) {
        if (other !== state && other.version.currentStage === canonical) {
          other.version.currentStage = "Archived";
          other.version.lastUpdatedTimestamp = now;
        }
      }
    }
    state.version.currentStage = canonical;
    state.version.lastUpdatedTimestamp = now;
    model.lastUpdatedTimestamp = now;
    return this.#toVersion(model, state);
  }

  protected async _setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
  ): Promise<void> {
    const { model, state } = this.#version(name, version);
    model.aliases.set(alias, state.version.version);
    model.lastUpdatedTimestamp = Date.now();
  }

  protected async _deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    const model = this.#model(name);
    if (model.aliases.delete(alias)) model.lastUpdatedTimestamp = Date.now();
  }

  protected async _getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const model = this.#model(name);
    const version =
      alias.toLowerCase() === "latest"
        ? highestVersion(this.#visible(model))
        : model.aliases.get(alias);
    if (version === undefined) throw aliasNotFound(name, alias);
    return this._getModelVersion(name, version);
  }

  protected async _getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return this.#version(name, version).state.storageLocation;
  }
}
