/**
 * The model registry on an MLflow server (REST 2.0), under the checking layer
 * (checked-registry.ts, so nothing half-valid is sent): one endpoint per method, JSON mapped to
 * our entities. Stages go through
 * transition-stage; aliases through registered-models/alias.
 */

import type { ModelStage, ModelVersion, RegisteredModel } from "../../entities.ts";
import type {
  RegistrySearchRequest,
  SearchModelVersionsResult,
  SearchRegisteredModelsResult,
} from "../../search/registry.ts";
import {
  type ModelVersionJson,
  modelFromJson,
  type RegisteredModelJson,
  versionFromJson,
} from "../../wire/registry.ts";
import { tagsToJson } from "../../wire/tracking.ts";
import { CheckedRegistry } from "../checked-registry.ts";
import { type CreateModelVersionOptions, versionRunId } from "../registry.ts";
import type { CallOptions, RestClient } from "./client.ts";
import { REGISTRY_ENDPOINTS, type RegistryEndpoint } from "./endpoints.ts";

function searchQuery(request: RegistrySearchRequest) {
  const query: Record<string, string | number | readonly string[] | undefined> = {};
  if (request.filter) query.filter = request.filter;
  if (request.maxResults !== undefined) query.max_results = request.maxResults;
  if (request.orderBy?.length) query.order_by = request.orderBy;
  if (request.pageToken) query.page_token = request.pageToken;
  return query;
}

export class RestRegistry extends CheckedRegistry {
  readonly #client: RestClient;

  constructor(client: RestClient) {
    super();
    this.#client = client;
  }

  #call<T>(endpoint: RegistryEndpoint, options: CallOptions = {}): Promise<T> {
    const [method, path] = REGISTRY_ENDPOINTS[endpoint];
    return this.#client.json<T>(method, path, options);
  }

  protected async _createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string>; description?: string } = {},
  ): Promise<RegisteredModel> {
    const json: Record<string, unknown> = { name, tags: tagsToJson(options.tags) };
    if (options.description !== undefined) json.description = options.description;
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "createRegisteredModel",
      { json, retry: "unsent" },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  protected async _getRegisteredModel(name: string): Promise<RegisteredModel> {
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

  protected async _renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "renameRegisteredModel",
      { json: { name, new_name: newName }, retry: "unsent" },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  protected async _updateRegisteredModel(
    name: string,
    update: { description: string },
  ): Promise<RegisteredModel> {
    const response = await this.#call<{ registered_model?: RegisteredModelJson }>(
      "updateRegisteredModel",
      { json: { name, description: update.description } },
    );
    return modelFromJson(response.registered_model ?? {});
  }

  protected async _deleteRegisteredModel(name: string): Promise<void> {
    await this.#call("deleteRegisteredModel", { json: { name }, retry: "unsent" });
  }

  protected async _setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.#call("setRegisteredModelTag", { json: { name, key, value } });
  }

  protected async _deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.#call("deleteRegisteredModelTag", { json: { name, key } });
  }

  protected async _createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
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

  protected async _getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const response = await this.#call<{ model_version?: ModelVersionJson }>("getModelVersion", {
      query: { name, version },
    });
    return versionFromJson(response.model_version ?? {});
  }

  protected async _updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion> {
    const response = await this.#call<{ model_version?: ModelVersionJson }>("updateModelVersion", {
      json: { name, version, description: update.description },
    });
    return versionFromJson(response.model_version ?? {});
  }

  protected async _deleteModelVersion(name: string, version: string): Promise<void> {
    await this.#call("deleteModelVersion", {
      json: { name, version },
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

  protected async _setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    await this.#call("setModelVersionTag", {
      json: { name, version, key, value },
    });
  }

  protected async _deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
  ): Promise<void> {
    await this.#call("deleteModelVersionTag", {
      json: { name, version, key },
    });
  }

  protected async _transitionModelVersionStage(
    name: string,
    version: string,
    canonical: ModelStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    const response = await this.#call<{ model_version?: ModelVersionJson }>("transitionStage", {
      json: {
        name,
        version,
        stage: canonical,
        archive_existing_versions: archiveExistingVersions,
      },
    });
    return versionFromJson(response.model_version ?? {});
  }

  protected async _setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
  ): Promise<void> {
    await this.#call("setAlias", { json: { name, alias, version } });
  }

  protected async _deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.#call("deleteAlias", { json: { name, alias } });
  }

  protected async _getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const response = await this.#call<{ model_version?: ModelVersionJson }>("getByAlias", {
      query: { name, alias },
    });
    return versionFromJson(response.model_version ?? {});
  }

  protected async _getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const response = await this.#call<{ artifact_uri?: string }>("getDownloadUri", {
      query: { name, version },
    });
    return response.artifact_uri ?? "";
  }
}
