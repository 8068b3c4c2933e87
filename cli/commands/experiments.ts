/** `mlruns experiments list|create|rename|delete|restore|tag`. */
import { defineGroup } from "../command.ts";
import {
  defineCommand,
  findExperiment,
  keyValues,
  list,
  openContext,
  VIEWS,
  valueOrDelete,
} from "../context.ts";
import { c, formatTime, print, printJson, table } from "../output.ts";

const listCommand = defineCommand<{
  view: string;
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}>({
  command: ["list", "ls"],
  describe: "List experiments",
  builder: (y) =>
    y
      .option("view", { choices: ["active", "deleted", "all"], default: "active" })
      .option("filter", {
        alias: "f",
        type: "string",
        describe: "MLflow filter, e.g. \"name LIKE 'iris%'\"",
      })
      .option("order-by", {
        alias: "o",
        type: "string",
        array: true,
        describe: "e.g. 'name ASC' (repeatable)",
      })
      .option("max-results", { alias: "n", type: "number" })
      .option("page-token", { type: "string" })
      .example("$0 experiments list", "active experiments, newest first")
      .example("$0 experiments list --view all --json", "every experiment as JSON"),
  async handler(args) {
    const { store } = await openContext(args, { read: true });
    const found = await store.searchExperiments({
      viewType: VIEWS[args.view] ?? "ACTIVE_ONLY",
      filter: args.filter,
      orderBy: list(args.orderBy),
      maxResults: args.maxResults,
      pageToken: args.pageToken,
    });
    if (args.json) {
      printJson(
        { experiments: found.experiments, nextPageToken: found.nextPageToken ?? null },
        "experiments",
      );
      return;
    }
    table(
      ["ID", "NAME", "STAGE", "CREATED", "ARTIFACT LOCATION"],
      found.experiments.map((x) => [
        x.experimentId,
        x.lifecycleStage === "deleted" ? c.dim(x.name) : x.name,
        x.lifecycleStage,
        formatTime(x.creationTime),
        x.artifactLocation,
      ]),
    );
    if (found.nextPageToken) print(c.dim(`more: --page-token ${found.nextPageToken}`));
  },
});

const create = defineCommand<{ name: string; artifactLocation?: string; tag?: string[] }>({
  command: "create <name>",
  describe: "Create an experiment; prints its id",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("artifact-location", { type: "string", describe: "where its runs' artifacts go" })
      .option("tag", {
        alias: "t",
        type: "string",
        array: true,
        describe: "key=value (repeatable)",
      })
      .example("$0 experiments create iris -t team=ml", "a new experiment with a tag"),
  async handler(args) {
    const { store } = await openContext(args, { create: true });
    const options: { artifactLocation?: string; tags?: Record<string, string> } = {
      tags: keyValues(list(args.tag), "tag"),
    };
    if (args.artifactLocation !== undefined) options.artifactLocation = args.artifactLocation;
    const experimentId = await store.createExperiment(String(args.name), options);
    if (args.json) printJson({ experimentId, name: String(args.name) });
    else print(experimentId);
  },
});

const rename = defineCommand<{ experiment: string; newName: string }>({
  command: "rename <experiment> <new-name>",
  describe: "Rename an experiment (by id or name)",
  builder: (y) =>
    y
      .positional("experiment", { type: "string", demandOption: true })
      .positional("new-name", { type: "string", demandOption: true })
      .example("$0 experiments rename iris iris-v2", ""),
  async handler(args) {
    const { store } = await openContext(args);
    const experiment = await findExperiment(store, String(args.experiment));
    await store.renameExperiment(experiment.experimentId, String(args.newName));
    if (args.json) printJson({ experimentId: experiment.experimentId, name: String(args.newName) });
    else print(`Renamed ${experiment.experimentId}: ${experiment.name} → ${String(args.newName)}`);
  },
});

function lifecycle(action: "delete" | "restore") {
  return defineCommand<{ experiment: string[] }>({
    command: `${action} <experiment..>`,
    describe:
      action === "delete"
        ? "Delete experiments and their runs (reversible until `mlruns gc`)"
        : "Restore deleted experiments and their runs",
    builder: (y) =>
      y
        .positional("experiment", { type: "string", array: true, demandOption: true })
        .example(`$0 experiments ${action} iris`, "by name")
        .example(`$0 experiments ${action} 490280936063705890`, "by id"),
    async handler(args) {
      const { store } = await openContext(args);
      const done: string[] = [];
      for (const ref of list(args.experiment)) {
        const experiment = await findExperiment(store, ref);
        if (action === "delete") await store.deleteExperiment(experiment.experimentId);
        else await store.restoreExperiment(experiment.experimentId);
        done.push(experiment.experimentId);
        if (!args.json)
          print(
            `${action === "delete" ? "Deleted" : "Restored"} ${experiment.experimentId} (${experiment.name})`,
          );
      }
      if (args.json) printJson({ [action === "delete" ? "deleted" : "restored"]: done });
    },
  });
}

const tag = defineCommand<{ experiment: string; key: string; value?: string; delete?: boolean }>({
  command: "tag <experiment> <key> [value]",
  describe: "Set (or with --delete remove) an experiment tag",
  builder: (y) =>
    y
      .positional("experiment", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string" })
      .option("delete", { type: "boolean", describe: "remove the tag" })
      .check(valueOrDelete)
      .example("$0 experiments tag iris mlflow.note.content 'Iris baselines'", "a description")
      .example("$0 experiments tag iris team --delete", "remove a tag"),
  async handler(args) {
    const { store } = await openContext(args);
    const experiment = await findExperiment(store, String(args.experiment));
    const key = String(args.key);
    if (args.delete) await store.deleteExperimentTag(experiment.experimentId, key);
    else await store.setExperimentTag(experiment.experimentId, key, String(args.value));
    if (args.json) {
      printJson({
        experimentId: experiment.experimentId,
        key,
        value: args.delete ? null : String(args.value),
      });
    }
  },
});

export const experiments = defineGroup({
  command: ["experiments", "exp"],
  describe: "List and manage experiments",
  subcommands: [listCommand, create, rename, lifecycle("delete"), lifecycle("restore"), tag],
});
