/** `mlruns init [dir]`: a new tree, with the Default experiment, that MLflow reads. */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { defineCommand, treeDir } from "../context.ts";
import { c, print, printJson } from "../output.ts";

export const init = defineCommand<{ dir?: string }>({
  command: "init [dir]",
  describe: "Create an mlruns tree (default: the tracking URI's folder, else ./mlruns)",
  builder: (y) =>
    y
      .positional("dir", { type: "string", describe: "folder of the tree" })
      .example("$0 init", "create ./mlruns")
      .example("$0 init /data/mlruns", "create a tree elsewhere"),
  async handler(args) {
    const root = treeDir(args.dir, args);
    const existed = existsSync(root);
    const { FileStore } = await import("mlruns");
    const store = new FileStore(root);
    await store.init();
    const experiments = await store.listExperiments("ALL");
    const uri = pathToFileURL(root).href;
    if (args.json) {
      printJson({ root, uri, created: !existed, experiments: experiments.length });
      return;
    }
    print(`${existed ? "Tree ready" : "Created tree"} at ${c.bold(root)}`);
    print(c.dim(`  export MLFLOW_TRACKING_URI=${uri}`));
  },
});
