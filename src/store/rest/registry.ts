/**
 * The model registry on an MLflow server (REST 2.0): the same checks as every store before
 * anything is sent, one endpoint per method, JSON mapped to our entities. Stages go through
 * transition-stage; aliases through registered-models/alias.
 */

import {
  type ModelVersionJson,
  modelFromJson,
  type RegisteredModelJson,
  versionFromJson,
} from "../../wire/registry.ts";
import { tagsToJson } from "../../wire/tracking.ts";
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
  versionRunId,
} from "../registry.ts";
import type { CallOptions, RestClient } from "./client.ts";
import { REGISTRY_ENDPOINTS, type RegistryEndpoint } from "./endpoints.ts";
import type { ModelVersion, RegisteredModel } from "../../entities.ts";
import type {
  RegistrySearchRequest,
  SearchModelVersionsResult,
  SearchRegisteredModelsResult,
} from "../../search/registry.ts";

function searchQuery(request: RegistrySearchRequest) {
  const query: Record<string, string | number | readonly string[] | undefined> = {};
  if (request.filter) query.filter = request.filter;
  if (request.maxResults !== undefined) query.max_results = request.maxResults;
  if (request.orderBy?.length) query.order_by = request.orderBy;
  if (request.pageToken) query.page_token = request.pageToken;
  return query;
}

export class RestRegistry implements RegistryStore {
  readonly #client: RestClient;

  constructor(client: RestClient) {
    this.#client = client;
  }

  #call<T>(endpoint: RegistryEndpoint, options: CallOptions = {}): Promise<T> {
    const [method, path] = REGISTRY_ENDPOINTS[endpoint];
    return this.#client.json<T>(method, path, options);
  }

  async createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string>; description?: string } = {},
  ): Promise<RegisteredModel> {
    validateNewModel(name, options);
    const json: Record<string, unknown> = { name, tags: tagsToJson(options.tags) };
    if (options.description !== undefined) json.description = options.description;
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "createRegisteredModel",
      { json, retry: "unsent" },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    validateModelName(name);
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "getRegisteredModel",
      { query: { name } },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  async searchRegisteredModels(
    request: RegistrySearchRequest = {},
  ): Promise<SearchRegisteredModelsResult> {
    const response = await this.#call<{
      registered_models?: RegisteredModelJson[];
      next_page_token?: string;
    }>("searchRegisteredModels", { query: searchQuery(request) });
    const result: SearchRegisteredModelsResult = {
      models: (response.registered_models ?? []).map(modelFromJson),
    };
    if (response.next_page_token) result.nextPageToken = response.next_page_token;
    return result;
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(name);
    validateModelName(newName);
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "renameRegisteredModel",
      { json: { name, new_name: newName }, retry: "unsent" },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  async updateRegisteredModel(
    name: string,
    update: { description: string },
  ): Promise<RegisteredModel> {
    validateDescription(update.description);
    validateModelName(name);
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "updateRegisteredModel",
      { json: { name, description: update.description } },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    validateModelName(name);
    await this.#call("deleteRegisteredModel", { json: { name }, retry: "unsent" });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    validateModelName(name);
    validateRegistryTag("registered model", key, value);
    await this.#call("setRegisteredModelTag", { json: { name, key, value } });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateModelName(name);
    validateRegistryTag("registered model", key);
    await this.#call("deleteRegisteredModelTag", { json: { name, key } });
  }

  async createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    validateNewVersion(options);
    const json: Record<string, unknown> = {
      name: options.name,
      source: options.source,
      tags: tagsToJson(options.tags),
    };
    const runId = versionRunId(options);
    if (runId !== undefined) json.run_id = runId;
    if (options.runLink !== undefined) json.run_link = options.runLink;
    if (options.description !== undefined) json.description = options.description;
    if (options.modelId !== undefined) json.model_id = options.modelId;
    // Never re-sent once it may have arrived: each call makes a new version number.
    const response = await this.#call<{ model_version?: ModelVersionJson }>("createModelVersion", {
      json,
      retry: "unsent",
    });
    return versionFromJson(response.model_version ?? {});
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    validateModelName(name);
    const response = await this.#call<{ model_version?: ModelVersionJson }>("getModelVersion", {
      query: { name, version: validateVersion(version) },
    });
    return versionFromJson(response.model_version ?? {});
  }

  async updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion> {
    validateDescription(update.description);
    validateModelName(name);
    const response = await this.#call<{ model_version?: ModelVersionJson }>("updateModelVersion", {
      json: { name, version: validateVersion(version), description: update.description },
    });
    return versionFromJson(response.model_version ?? {});
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    validateModelName(name);
    await this.#call("deleteModelVersion", {
      json: { name, version: validateVersion(version) },
      retry: "unsent",
    });
  }

  async searchModelVersions(
    request: RegistrySearchRequest = {},
  ): Promise<SearchModelVersionsResult> {
    const response = await this.#call<{
      model_versions?: ModelVersionJson[];
      next_page_token?: string;
    }>("searchModelVersions", { query: searchQuery(request) });
    const versions = (response.model_versions ?? []).map(versionFromJson);
    // The SQL store's search leaves `aliases` empty: fill them from each model's alias list.
    const aliasesByModel = new Map<string, Record<string, string>>();
    for (const name of new Set(versions.map((v) => v.name))) {
      aliasesByModel.set(name, (await this.getRegisteredModel(name)).aliases);
    }
    for (const v of versions) {
      const aliases = aliasesByModel.get(v.name) ?? {};
      v.aliases = Object.keys(aliases)
        .filter((a) => aliases[a] === v.version)
        .sort();
    }
    const result: SearchModelVersionsResult = { versions };
    if (response.next_page_token) result.nextPageToken = response.next_page_token;
    return result;
  }

  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    validateModelName(name);
    validateRegistryTag("model version", key, value);
    await this.#call("setModelVersionTag", {
      json: { name, version: validateVersion(version), key, value },
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    validateModelName(name);
    validateRegistryTag("model version", key);
    await this.#call("deleteModelVersionTag", {
      json: { name, version: validateVersion(version), key },
    });
  }

  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    validateModelName(name);
    const canonical = canonicalStage(stage);
    checkArchiveExisting(canonical, archiveExistingVersions);
    const response = await this.#call<{ model_version?: ModelVersionJson }>("transitionStage", {
      json: {
        name,
        version: validateVersion(version),
        stage: canonical,
        archive_existing_versions: archiveExistingVersions,
      },
    });
    return versionFromJson(response.model_version ?? {});
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    validateModelName(name);
    validateAlias(alias);
    await this.#call("setAlias", { json: { name, alias, version: validateVersion(version) } });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    validateModelName(name);
    validateAlias(alias, true);
    await this.#call("deleteAlias", { json: { name, alias } });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    validateModelName(name);
    validateAlias(alias, true);
    const response = await this.#call<{ model_version?: ModelVersionJson }>("getByAlias", {
      query: { name, alias },
    });
    return versionFromJson(response.model_version ?? {});
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    validateModelName(name);
    const response = await this.#call<{ artifact_uri?: string }>("getDownloadUri", {
      query: { name, version: validateVersion(version) },
    });
    return response.artifact_uri ?? "";
  }
}
