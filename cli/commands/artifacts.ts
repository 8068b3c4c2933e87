/** `mlruns artifacts list|get`. */
import { promises as fs } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type FileInfo, isMlflowError, MlflowError, type TrackingStore } from "mlruns";
import { defineGroup } from "../command.ts";
import { defineCommand } from "../context.ts";
import { UsageError } from "../errors.ts";
import { formatBytes, plural, print, printJson, table, write } from "../output.ts";
import { openRun, SCOPE_OPTION } from "../run-ref.ts";

async function walk(
  store: TrackingStore,
  runId: string,
  path: string | undefined,
  recursive: boolean,
): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const info of await store.listArtifacts(runId, path)) {
    out.push(info);
    if (recursive && info.isDir) {
      for (const inner of await walk(store, runId, info.path, true)) out.push(inner);
    }
  }
  return out;
}

const RUN = {
  type: "string",
  demandOption: true,
  describe: "run id, id prefix, name, or latest",
} as const;

/** A file's bytes; a missing one says which command lists what is there. */
async function readArtifact(store: TrackingStore, runId: string, path: string) {
  try {
    return await store.readArtifact(runId, path);
  } catch (error) {
    if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
    throw new MlflowError(error.code, error.message, {
      hint: `\`mlruns artifacts list ${runId} -r\` lists the run's artifacts`,
      cause: error,
    });
  }
}

const listCommand = defineCommand<{
  run: string;
  path?: string;
  recursive?: boolean;
  experiment?: string[];
}>({
  command: ["list <run> [path]", "ls"],
  describe: "List a run's artifacts (under path)",
  builder: (y) =>
    y
      .positional("run", RUN)
      .positional("path", { type: "string", describe: "a folder inside the artifacts" })
      .option("recursive", { alias: "r", type: "boolean", describe: "list sub-folders too" })
      .option("experiment", SCOPE_OPTION)
      .example("$0 artifacts list latest -r", "every artifact of the newest run"),
  async handler(args) {
    const { store, runId } = await openRun(args, { read: true });
    const files = await walk(store, runId, args.path, args.recursive === true);
    if (args.json) {
      printJson({ runId, path: args.path ?? null, artifacts: files }, "artifacts");
      return;
    }
    table(
      ["PATH", "SIZE"],
      files.map((f) => [f.isDir ? `${f.path}/` : f.path, formatBytes(f.fileSize)]),
      [1],
    );
  },
});

const get = defineCommand<{ run: string; path: string; output?: string; experiment?: string[] }>({
  command: "get <run> <path>",
  describe: "Download an artifact file (to stdout) or folder (needs --output)",
  builder: (y) =>
    y
      .positional("run", RUN)
      .positional("path", { type: "string", demandOption: true })
      .option("output", { alias: "o", type: "string", describe: "file or folder to write" })
      .option("experiment", SCOPE_OPTION)
      .example("$0 artifacts get latest logs/stdout.txt", "print a file")
      .example("$0 artifacts get 3f2a model -o ./model", "download a folder"),
  async handler(args) {
    const { store, runId } = await openRun(args, { read: true });
    const path = String(args.path).replace(/\/+$/, "");
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : undefined;
    const entry = (await store.listArtifacts(runId, parent)).find((f) => f.path === path);
    const files: { path: string; target?: string }[] = [];
    if (entry?.isDir) {
      if (args.output === undefined) {
        throw new UsageError(`'${path}' is a folder`, "Download it with --output <folder>");
      }
      const root = resolve(args.output);
      for (const f of await walk(store, runId, path, true)) {
        if (!f.isDir)
          files.push({ path: f.path, target: join(root, f.path.slice(path.length + 1)) });
      }
    } else {
      files.push(args.output === undefined ? { path } : { path, target: resolve(args.output) });
    }
    const written: { path: string; output: string | null; size: number }[] = [];
    for (const file of files) {
      const bytes = await readArtifact(store, runId, file.path);
      if (file.target !== undefined) {
        await fs.mkdir(dirname(file.target), { recursive: true });
        await fs.writeFile(file.target, bytes);
      } else if (!args.json) write(bytes);
      written.push({ path: file.path, output: file.target ?? null, size: bytes.byteLength });
    }
    if (args.json) printJson({ runId, files: written });
    else if (args.output !== undefined)
      print(
        `Wrote ${plural(written.length, "file")} (${formatBytes(written.reduce((n, f) => n + f.size, 0))}) to ${resolve(args.output)}`,
      );
  },
});

export const artifacts = defineGroup({
  command: "artifacts",
  describe: "List and download run artifacts",
  subcommands: [listCommand, get],
});
