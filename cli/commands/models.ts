/**
 * `mlruns models list|show|create|rename|describe|delete|tag|versions|register|alias|stage`:
 * the model registry of the tree (or server) behind the tracking URI.
 */
import { type ModelVersion, type RegistryStore, registryOf } from "mlruns";
import { defineGroup } from "../command.ts";
import { confirm, defineCommand, keyValues, list, openContext, valueOrDelete } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, fields, formatTime, print, printJson, table } from "../output.ts";
import { runResolver, SCOPE_OPTION } from "../run-ref.ts";

async function openRegistry(args: Parameters<typeof openContext>[0]): Promise<RegistryStore> {
  return registryOf((await openContext(args)).store);
}

function versionRows(versions: ModelVersion[]): string[][] {
  return versions.map((v) => [
    v.name,
    v.version,
    v.currentStage,
    v.aliases.join(", "),
    formatTime(v.creationTimestamp),
    v.runId ?? "",
    v.source,
  ]);
}
const VERSION_HEADERS = ["MODEL", "VERSION", "STAGE", "ALIASES", "CREATED", "RUN", "SOURCE"];

const listCommand = defineCommand<{
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}>({
  command: ["list", "ls"],
  describe: "List registered models",
  builder: (y) =>
    y
      .option("filter", {
        alias: "f",
        type: "string",
        describe: "MLflow filter, e.g. \"name LIKE 'iris%'\" or \"tags.team = 'cv'\"",
      })
      .option("order-by", { alias: "o", type: "string", array: true, describe: "e.g. 'name DESC'" })
      .option("max-results", { alias: "n", type: "number" })
      .option("page-token", { type: "string" })
      .example("$0 models list", "every registered model, by name")
      .example("$0 models list -f \"name LIKE 'iris%'\" --json", "as JSON"),
  async handler(args) {
    const store = await openRegistry(args);
    const found = await store.searchRegisteredModels({
      ...(args.filter ? { filter: args.filter } : {}),
      orderBy: list(args.orderBy),
      ...(args.maxResults === undefined ? {} : { maxResults: args.maxResults }),
      ...(args.pageToken ? { pageToken: args.pageToken } : {}),
    });
    if (args.json) {
      printJson({ models: found.models, nextPageToken: found.nextPageToken ?? null }, "models");
      return;
    }
    table(
      ["NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"],
      found.models.map((m) => [
        m.name,
        m.latestVersions.map((v) => `${v.version} (${v.currentStage})`).join(", "),
        Object.entries(m.aliases)
          .map(([a, v]) => `${a}→${v}`)
          .join(", "),
        formatTime(m.lastUpdatedTimestamp),
        (m.description ?? "").split("\n")[0] ?? "",
      ]),
    );
    if (found.nextPageToken) print(c.dim(`more: --page-token ${found.nextPageToken}`));
  },
});

const show = defineCommand<{ name: string }>({
  command: "show <name>",
  describe: "A registered model with its versions",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }),
  async handler(args) {
    const store = await openRegistry(args);
    const name = String(args.name);
    const model = await store.getRegisteredModel(name);
    const versions = (
      await store.searchModelVersions({
        filter: `name = '${name.replaceAll("'", "\\'")}'`,
        orderBy: ["version_number ASC"],
      })
    ).versions;
    if (args.json) {
      printJson({ model, versions });
      return;
    }
    fields([
      ["name", model.name],
      ["description", model.description ?? ""],
      ["created", formatTime(model.creationTimestamp)],
      ["updated", formatTime(model.lastUpdatedTimestamp)],
      ...Object.entries(model.tags).map(([k, v]): [string, string] => [`tag ${k}`, v]),
      ...Object.entries(model.aliases).map(([a, v]): [string, string] => [`alias ${a}`, v]),
    ]);
    print();
    table(VERSION_HEADERS, versionRows(versions));
  },
});

const create = defineCommand<{ name: string; description?: string; tag?: string[] }>({
  command: "create <name>",
  describe: "Create a registered model",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("description", { alias: "d", type: "string" })
      .option("tag", { alias: "t", type: "string", array: true, describe: "key=value" })
      .example("$0 models create iris -d 'Iris classifier' -t team=cv", ""),
  async handler(args) {
    const store = await openRegistry(args);
    const model = await store.createRegisteredModel(String(args.name), {
      tags: keyValues(list(args.tag), "tag"),
      ...(args.description === undefined ? {} : { description: args.description }),
    });
    if (args.json) printJson(model);
    else print(`Created registered model ${model.name}`);
  },
});

const rename = defineCommand<{ name: string; newName: string }>({
  command: "rename <name> <new-name>",
  describe: "Rename a registered model (versions, tags and aliases go along)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .positional("new-name", { type: "string", demandOption: true }),
  async handler(args) {
    const store = await openRegistry(args);
    const model = await store.renameRegisteredModel(String(args.name), String(args.newName));
    if (args.json) printJson(model);
    else print(`Renamed ${String(args.name)} → ${model.name}`);
  },
});

const describeCommand = defineCommand<{ name: string; text: string; modelVersion?: string }>({
  command: "describe <name> <text>",
  describe: "Set the description of a model (or of one version with --model-version)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .positional("text", { type: "string", demandOption: true })
      .option("model-version", { alias: "mv", type: "string", describe: "a version of the model" }),
  async handler(args) {
    const store = await openRegistry(args);
    const update = { description: String(args.text) };
    const result =
      args.modelVersion === undefined
        ? await store.updateRegisteredModel(String(args.name), update)
        : await store.updateModelVersion(String(args.name), String(args.modelVersion), update);
    if (args.json) printJson(result);
  },
});

const del = defineCommand<{ name: string; modelVersion?: string; yes?: boolean }>({
  command: "delete <name>",
  describe: "Delete a registered model with all its versions, or one version with --model-version",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("model-version", {
        alias: "mv",
        type: "string",
        describe: "delete only this version",
      })
      .option("yes", { alias: "y", type: "boolean", describe: "do not ask" })
      .example("$0 models delete iris --model-version 3", "one version (its number is not reused)")
      .example("$0 models delete iris --yes", "the whole model, for good"),
  async handler(args) {
    const store = await openRegistry(args);
    const name = String(args.name);
    if (args.modelVersion !== undefined) {
      await store.deleteModelVersion(name, String(args.modelVersion));
      if (args.json) printJson({ deleted: { name, version: String(args.modelVersion) } });
      else print(`Deleted ${name} version ${String(args.modelVersion)}`);
      return;
    }
    await store.getRegisteredModel(name);
    if (!args.yes && !(await confirm(`Delete registered model '${name}' and all its versions?`))) {
      throw new UsageError(
        `Not deleting '${name}'`,
        "Pass --yes to delete a registered model without being asked",
      );
    }
    await store.deleteRegisteredModel(name);
    if (args.json) printJson({ deleted: { name } });
    else print(`Deleted registered model ${name}`);
  },
});

const tag = defineCommand<{
  name: string;
  key: string;
  value?: string;
  modelVersion?: string;
  delete?: boolean;
}>({
  command: "tag <name> <key> [value]",
  describe: "Set (or with --delete remove) a tag of a model, or of a version with --model-version",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string" })
      .option("model-version", { alias: "mv", type: "string", describe: "a version of the model" })
      .option("delete", { type: "boolean", describe: "remove the tag" })
      .check(valueOrDelete)
      .example("$0 models tag iris team cv", "a model tag")
      .example("$0 models tag iris quality good --mv 2", "a version tag"),
  async handler(args) {
    const store = await openRegistry(args);
    const [name, key] = [String(args.name), String(args.key)];
    const version = args.modelVersion === undefined ? undefined : String(args.modelVersion);
    if (args.delete) {
      if (version === undefined) await store.deleteRegisteredModelTag(name, key);
      else await store.deleteModelVersionTag(name, version, key);
    } else if (version === undefined) {
      await store.setRegisteredModelTag(name, key, String(args.value));
    } else {
      await store.setModelVersionTag(name, version, key, String(args.value));
    }
    if (args.json) {
      printJson({ name, version: version ?? null, key, value: args.delete ? null : args.value });
    }
  },
});

const versions = defineCommand<{
  name?: string;
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}>({
  command: "versions [name]",
  describe: "List model versions (of one model, or matching --filter)",
  builder: (y) =>
    y
      .positional("name", { type: "string" })
      .option("filter", {
        alias: "f",
        type: "string",
        describe: "e.g. \"run_id = '…'\" or \"tags.quality = 'good'\"",
      })
      .option("order-by", { alias: "o", type: "string", array: true })
      .option("max-results", { alias: "n", type: "number" })
      .option("page-token", { type: "string" })
      .example("$0 models versions iris", "every version of iris, newest change first"),
  async handler(args) {
    const store = await openRegistry(args);
    const clauses: string[] = [];
    if (args.name !== undefined) clauses.push(`name = '${args.name.replaceAll("'", "\\'")}'`);
    if (args.filter) clauses.push(args.filter);
    const found = await store.searchModelVersions({
      ...(clauses.length ? { filter: clauses.join(" AND ") } : {}),
      orderBy: list(args.orderBy),
      ...(args.maxResults === undefined ? {} : { maxResults: args.maxResults }),
      ...(args.pageToken ? { pageToken: args.pageToken } : {}),
    });
    if (args.json) {
      printJson(
        { versions: found.versions, nextPageToken: found.nextPageToken ?? null },
        "versions",
      );
      return;
    }
    table(VERSION_HEADERS, versionRows(found.versions));
    if (found.nextPageToken) print(c.dim(`more: --page-token ${found.nextPageToken}`));
  },
});

const register = defineCommand<{
  modelUri: string;
  name: string;
  tag?: string[];
  description?: string;
  experiment?: string[];
}>({
  command: "register <model-uri> <name>",
  describe: "Register a model (runs:/<run>/<path>, a folder or a URI) as a new version",
  builder: (y) =>
    y
      .positional("model-uri", {
        type: "string",
        demandOption: true,
        describe: "runs:/<run>/<path> (the run by id, id prefix, name or latest), a folder, a URI",
      })
      .positional("name", { type: "string", demandOption: true })
      .option("tag", { alias: "t", type: "string", array: true, describe: "key=value" })
      .option("description", { alias: "d", type: "string" })
      .option("experiment", SCOPE_OPTION)
      .example("$0 models register runs:/0a1b…/model iris", "creates iris when missing")
      .example("$0 models register runs:/latest/model iris", "the model of the newest run"),
  async handler(args) {
    const context = await openContext(args);
    const { store } = context;
    // `runs:/<run>/…` names the run as other commands do; the URI stored has its id.
    let modelUri = String(args.modelUri);
    const named = /^runs:\/([^/]+)(\/.*)?$/.exec(modelUri);
    if (named) {
      const resolve = await runResolver(context, list(args.experiment));
      modelUri = `runs:/${await resolve(named[1] as string)}${named[2] ?? ""}`;
    }
    const { registerModel } = await import("mlruns");
    const version = await registerModel(store, {
      modelUri,
      name: String(args.name),
      tags: keyValues(list(args.tag), "tag"),
      ...(args.description === undefined ? {} : { description: args.description }),
    });
    if (args.json) printJson(version);
    else print(`Registered ${version.name} version ${version.version}`);
  },
});

const alias = defineCommand<{
  name: string;
  alias: string;
  modelVersion?: string;
  delete?: boolean;
}>({
  command: "alias <name> <alias> [model-version]",
  describe: "Point an alias at a version, show where it points, or --delete it",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .positional("alias", { type: "string", demandOption: true })
      .positional("model-version", { type: "string" })
      .option("delete", { type: "boolean" })
      .example("$0 models alias iris champion 3", "iris@champion is version 3")
      .example("$0 models alias iris champion", "which version iris@champion is"),
  async handler(args) {
    const store = await openRegistry(args);
    const [name, aliasName] = [String(args.name), String(args.alias)];
    if (args.delete) {
      await store.deleteRegisteredModelAlias(name, aliasName);
      if (args.json) printJson({ name, alias: aliasName, version: null });
      return;
    }
    if (args.modelVersion !== undefined) {
      await store.setRegisteredModelAlias(name, aliasName, String(args.modelVersion));
      if (args.json) printJson({ name, alias: aliasName, version: String(args.modelVersion) });
      return;
    }
    const version = await store.getModelVersionByAlias(name, aliasName);
    if (args.json) printJson(version);
    else print(version.version);
  },
});

const stage = defineCommand<{
  name: string;
  modelVersion: string;
  stage: string;
  archiveExisting?: boolean;
}>({
  command: "stage <name> <model-version> <stage>",
  describe: "Move a version to None, Staging, Production or Archived",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .positional("model-version", { type: "string", demandOption: true })
      .positional("stage", { type: "string", demandOption: true })
      .option("archive-existing", {
        type: "boolean",
        describe: "archive the versions now in that stage (Staging/Production only)",
      })
      .example("$0 models stage iris 3 Production --archive-existing", ""),
  async handler(args) {
    const store = await openRegistry(args);
    const version = await store.transitionModelVersionStage(
      String(args.name),
      String(args.modelVersion),
      String(args.stage),
      args.archiveExisting === true,
    );
    if (args.json) printJson(version);
    else print(`${version.name} version ${version.version} is now ${version.currentStage}`);
  },
});

export const models = defineGroup({
  command: ["models", "model"],
  describe: "The model registry: registered models, versions, aliases, stages",
  subcommands: [
    listCommand,
    show,
    create,
    rename,
    describeCommand,
    del,
    tag,
    versions,
    register,
    alias,
    stage,
  ],
});
