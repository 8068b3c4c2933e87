/**
 * `mlruns ui [dir]`: the web UI over a tree, served by `mlruns server` with the UI turned on,
 * on 127.0.0.1. Opens the browser when run from a desktop terminal (not over SSH, not in a
 * pipe, not with --no-open). Runs until SIGINT or SIGTERM.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { defineCommand, treeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, e, note, print, printJson } from "../output.ts";
import { listen, untilStopped } from "../serve.ts";

interface UiArgs {
  dir?: string;
  port: number;
  host: string;
  open: boolean;
}

/** A terminal on this machine's desktop, where a browser can open. */
function onDesktop(): boolean {
  if (!process.stdout.isTTY || process.env.SSH_CONNECTION || process.env.CI) return false;
  if (process.platform === "darwin" || process.platform === "win32") return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function openBrowser(url: string): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const child = spawn(command, args, { stdio: "ignore", detached: true });
  child.on("error", () => note(e.dim(`Could not open a browser; open ${url}`)));
  child.unref();
}

export const ui = defineCommand<UiArgs>({
  command: "ui [dir]",
  describe: "See the runs of a tree in the browser: tables, charts, compare, live",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "the tree (default: the tracking URI's folder)",
      })
      .option("port", { alias: "p", type: "number", default: 5000, describe: "port (0: any free)" })
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "interface to listen on (the UI has no login: keep it local)",
      })
      .option("open", {
        type: "boolean",
        default: true,
        describe: "open the browser (--no-open: do not)",
      })
      .example("$0 ui", "browse ./mlruns at http://127.0.0.1:5000")
      .example("$0 ui runs/ --port 8080 --no-open", "another tree and port, no browser"),
  async handler(args) {
    const root = treeDir(args.dir, args);
    if (!existsSync(root)) {
      throw new UsageError(
        `No tree at ${root}`,
        "Give the folder of an mlruns tree, or create one with `mlruns init`",
      );
    }
    const running = await listen({ root, host: args.host, port: args.port, ui: true });
    const url = `${running.url}/`;
    if (args.json) printJson({ url, root: running.root, pid: process.pid });
    else {
      print(`mlruns UI for ${c.bold(running.root)} at ${c.bold(url)}`);
      print(c.dim("  Ctrl-C to stop"));
    }
    if (args.open && onDesktop()) openBrowser(url);
    await untilStopped(running, "mlruns ui");
  },
});
