/** `mlruns gc [dir]`: permanently removes deleted runs and experiments (plan first; --yes). */
import { confirm, defineCommand, existingTreeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, formatTime, note, plural, print, printJson, table } from "../output.ts";
import { progress } from "../progress.ts";

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `30d`, `12h`, `90m`, `45s`, `2w` (or combined: `1d12h`) → milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new UsageError(
      `--older-than '${text}' is not a duration`,
      "Use e.g. 30d, 12h, 90m, 1d12h",
    );
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] ?? 0), 0);
}

export const gc = defineCommand<{ dir?: string; olderThan?: string; yes?: boolean }>({
  command: "gc [dir]",
  describe: "Permanently remove deleted runs and experiments",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "the tree (default: the tracking URI's folder)",
      })
      .option("older-than", {
        type: "string",
        describe: "only what was deleted at least this long ago (30d, 12h)",
      })
      .option("yes", { alias: "y", type: "boolean", describe: "remove without asking" })
      .example("$0 gc", "show what would be removed, then ask")
      .example("$0 gc --older-than 30d --yes", "remove what was deleted over 30 days ago"),
  async handler(args) {
    const root = await existingTreeDir(args.dir, args);
    const olderThanMs = args.olderThan === undefined ? undefined : parseDuration(args.olderThan);
    const { applyGc, planGc } = await import("mlruns");
    const plan = await planGc(root, olderThanMs === undefined ? {} : { olderThanMs });
    const items = plan.items;
    if (!args.json) {
      if (items.length === 0) {
        print("Nothing to remove.");
        return;
      }
      table(
        ["KIND", "ID", "NAME", "EXPERIMENT", "DELETED"],
        items.map((i) => [i.kind, i.id, i.name, i.experimentName, formatTime(i.deletedTime)]),
      );
    }
    const approved =
      items.length > 0 &&
      (args.yes === true ||
        (!args.json && (await confirm(`Remove ${plural(items.length, "item")} for good?`))));
    if (approved) {
      const bar = progress("removing", 20);
      try {
        await applyGc(plan, (done, total) => bar.update(done, total));
      } finally {
        bar.stop();
      }
    }
    if (args.json) {
      printJson(
        { root: plan.root, olderThanMs: olderThanMs ?? null, removed: approved, items },
        "items",
      );
    } else if (approved) print(c.green(`Removed ${plural(items.length, "item")}.`));
    else note("Nothing removed: pass --yes to remove them.");
  },
});
