/**
 * The one validating layer of every model registry, as checked-store.ts is for tracking (and a
 * base class for the same reason): each public method checks names, versions, tags, aliases and
 * stages with MLflow's rules (registry.ts) and calls the driver method of the same name with a
 * leading `_` (FileRegistry, MemoryRegistry, RestRegistry) with the input made canonical: a
 * version number as MLflow prints it, a stage in its canonical spelling.
 */
import type { ModelStage, ModelVersion, RegisteredModel } from "../entities.ts";
import type {
  RegistrySearchRequest,
  SearchModelVersionsResult,
  SearchRegisteredModelsResult,
} from "../search/registry.ts";
import {
  type CreateModelVersionOptions,
  canonicalStage,
  checkArchiveExisting,
  type RegistryStore,
  validateAlias,
  validateDescription,
  validateModelName,
  validateNewModel,
  validateNewVersion,
  validateRegistryTag,
  validateVersion,
} from "./registry.ts";

type NewModel = { tags?: Record<string, string>; description?: string };
type Described = { description: string };

export abstract class CheckedRegistry implements RegistryStore {
  // ---- registered models ----

  async createRegisteredModel(name: string, options: NewModel = {}): Promise<RegisteredModel> {
    validateNewModel(name, options);
    return this._createRegisteredModel(name, options);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    validateModelName(name);
    return this._getRegisteredModel(name);
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(name);
    validateModelName(newName);
    return this._renameRegisteredModel(name, newName);
  }

  async updateRegisteredModel(name: string, update: Described): Promise<RegisteredModel> {
    validateModelName(name);
    validateDescription(update.description);
    return this._updateRegisteredModel(name, update);
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    validateModelName(name);
    return this._deleteRegisteredModel(name);
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    validateModelName(name);
    validateRegistryTag("registered model", key, value);
    return this._setRegisteredModelTag(name, key, value);
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateModelName(name);
    validateRegistryTag("registered model", key);
    return this._deleteRegisteredModelTag(name, key);
  }

  abstract searchRegisteredModels(
    request?: RegistrySearchRequest,
  ): Promise<SearchRegisteredModelsResult>;

  // ---- versions ----

  async createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    validateNewVersion(options);
    return this._createModelVersion(options);
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this._getModelVersion(name, checkedVersion(name, version));
  }

  async updateModelVersion(
    name: string,
    version: string,
    update: Described,
  ): Promise<ModelVersion> {
    const number = checkedVersion(name, version);
    validateDescription(update.description);
    return this._updateModelVersion(name, number, update);
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    return this._deleteModelVersion(name, checkedVersion(name, version));
  }

  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    const number = checkedVersion(name, version);
    validateRegistryTag("model version", key, value);
    return this._setModelVersionTag(name, number, key, value);
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    const number = checkedVersion(name, version);
    validateRegistryTag("model version", key);
    return this._deleteModelVersionTag(name, number, key);
  }

  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    const number = checkedVersion(name, version);
    const canonical = canonicalStage(stage);
    checkArchiveExisting(canonical, archiveExistingVersions);
    return this._transitionModelVersionStage(name, number, canonical, archiveExistingVersions);
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return this._getModelVersionDownloadUri(name, checkedVersion(name, version));
  }

  abstract searchModelVersions(request?: RegistrySearchRequest): Promise<SearchModelVersionsResult>;

  // ---- aliases ----

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    const number = checkedVersion(name, version);
    validateAlias(alias);
    return this._setRegisteredModelAlias(name, alias, number);
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    validateModelName(name);
    validateAlias(alias, true);
    return this._deleteRegisteredModelAlias(name, alias);
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    validateModelName(name);
    validateAlias(alias, true);
    return this._getModelVersionByAlias(name, alias);
  }

  // ---- the driver: called only with checked input (`version` canonical, e.g. "3") ----------

  protected abstract _createRegisteredModel(
    name: string,
    options: NewModel,
  ): Promise<RegisteredModel>;
  protected abstract _getRegisteredModel(name: string): Promise<RegisteredModel>;
  protected abstract _renameRegisteredModel(
    name: string,
    newName: string,
  ): Promise<RegisteredModel>;
  protected abstract _updateRegisteredModel(
    name: string,
    update: Described,
  ): Promise<RegisteredModel>;
  protected abstract _deleteRegisteredModel(name: string): Promise<void>;
  protected abstract _setRegisteredModelTag(
    name: string,
    key: string,
    value: string,
  ): Promise<void>;
  protected abstract _deleteRegisteredModelTag(name: string, key: string): Promise<void>;
  protected abstract _createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion>;
  protected abstract _getModelVersion(name: string, version: string): Promise<ModelVersion>;
  protected abstract _updateModelVersion(
    name: string,
    version: string,
    update: Described,
  ): Promise<ModelVersion>;
  protected abstract _deleteModelVersion(name: string, version: string): Promise<void>;
  protected abstract _setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void>;
  protected abstract _deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
  ): Promise<void>;
  protected abstract _transitionModelVersionStage(
    name: string,
    version: string,
    stage: ModelStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion>;
  protected abstract _getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  protected abstract _setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
  ): Promise<void>;
  protected abstract _deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  protected abstract _getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
}

/** The model's name, then its version number, which is returned as MLflow prints it. */
function checkedVersion(name: string, version: string): string {
  validateModelName(name);
  return validateVersion(version);
}
