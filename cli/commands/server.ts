/**
 * `mlruns server [dir]`: MLflow's tracking server over a tree, for any MLflow client
 * (`MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py`). Runs until SIGINT or SIGTERM,
 * then finishes the requests in flight, saves the search index and exits 0.
 *
 * Credentials come from MLRUNS_SERVER_USERNAME / MLRUNS_SERVER_PASSWORD / MLRUNS_SERVER_TOKEN or
 * from a file (`--credentials-file`, lines `username=…`, `password=…`, `token=…`); never from
 * the command line, where other users of the machine could read them.
 */
import { readFileSync, statSync } from "node:fs";
import type { Credentials } from "mlruns";
import { defineCommand, list, treeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, e, note, print, printJson } from "../output.ts";
import { listen, untilStopped } from "../serve.ts";

interface ServerArgs {
  dir?: string;
  host: string;
  port: number;
  readOnly?: boolean;
  credentialsFile?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  accessLog?: boolean;
}

/** Credentials from the environment, overridden key by key by the file. */
function readCredentials(file: string | undefined): Credentials {
  const env = process.env;
  const values: Record<string, string | undefined> = {
    username: env.MLRUNS_SERVER_USERNAME || undefined,
    password: env.MLRUNS_SERVER_PASSWORD || undefined,
    token: env.MLRUNS_SERVER_TOKEN || undefined,
  };
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new UsageError(`Cannot read the credentials file ${file}: ${(error as Error).message}`);
    }
    if ((statSync(file).mode & 0o077) !== 0) {
      note(e.yellow(`warning: ${file} can be read by other users; chmod 600 it`));
    }
    for (const [n, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith("[")) continue;
      const at = line.indexOf("=");
      const key = line.slice(0, at).trim().toLowerCase();
      if (at <= 0 || !["username", "password", "token"].includes(key)) {
        throw new UsageError(
          `${file}:${n + 1}: expected username=…, password=… or token=…`,
          "One setting a line; # starts a comment",
        );
      }
      values[key] = line.slice(at + 1).trim();
    }
  }
  if ((values.username === undefined) !== (values.password === undefined)) {
    throw new UsageError("Basic auth needs both a username and a password");
  }
  const credentials: Credentials = {};
  if (values.username !== undefined) credentials.username = values.username;
  if (values.password !== undefined) credentials.password = values.password;
  if (values.token !== undefined) credentials.token = values.token;
  return credentials;
}

export const server = defineCommand<ServerArgs>({
  command: "server [dir]",
  describe: "Serve a tree over MLflow's REST API, for MLflow clients in any language",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "the tree (default: the tracking URI's folder)",
      })
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "interface to listen on (0.0.0.0: every interface; set credentials then)",
      })
      .option("port", { alias: "p", type: "number", default: 5000, describe: "port (0: any free)" })
      .option("read-only", { type: "boolean", describe: "refuse every write" })
      .option("access-log", { type: "boolean", describe: "log every request to stderr" })
      .option("credentials-file", {
        type: "string",
        describe: "file with username=/password= (basic) and/or token= (bearer) lines",
      })
      .option("allowed-hosts", {
        type: "string",
        array: true,
        describe: "more names clients may use for this machine (Host header)",
      })
      .option("allowed-origins", {
        type: "string",
        array: true,
        describe: "web origins allowed to write from a browser",
      })
      .example("$0 server", "serve ./mlruns on http://127.0.0.1:5000")
      .example(
        "MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py",
        "then, in another shell, log from Python",
      )
      .example(
        "MLRUNS_SERVER_TOKEN=s3cret $0 server --host 0.0.0.0",
        "serve the network; clients set MLFLOW_TRACKING_TOKEN=s3cret",
      ),
  async handler(args) {
    const running = await listen({
      root: treeDir(args.dir, args),
      host: args.host,
      port: args.port,
      readOnly: args.readOnly === true,
      credentials: readCredentials(args.credentialsFile),
      allowedHosts: list(args.allowedHosts),
      allowedOrigins: list(args.allowedOrigins),
      accessLog: args.accessLog === true,
    });
    if (args.json) {
      printJson({ url: running.url, root: running.root, pid: process.pid });
    } else {
      print(
        `Serving ${c.bold(running.root)} at ${c.bold(running.url)}${args.readOnly ? " (read-only)" : ""}`,
      );
      print(c.dim(`  export MLFLOW_TRACKING_URI=${running.url}`));
      print(c.dim("  Ctrl-C to stop"));
    }
    await untilStopped(running, "mlruns server");
  },
});
