/** The explicit list of command modules (no directory scanning). */
import type { Command } from "../command.ts";
import { artifacts } from "./artifacts.ts";
import { completion } from "./completion.ts";
import { experiments } from "./experiments.ts";
import { exportCommand } from "./export.ts";
import { gc } from "./gc.ts";
import { importCommand } from "./import.ts";
import { init } from "./init.ts";
import { log } from "./log.ts";
import { metrics } from "./metrics.ts";
import { models } from "./models.ts";
import { run } from "./run.ts";
import { runs } from "./runs.ts";
import { server } from "./server.ts";
import { pullCommand, syncCommand } from "./sync.ts";
import { ui } from "./ui.ts";
import { verify } from "./verify.ts";

export const commands: Command[] = [
  init,
  experiments,
  runs,
  metrics,
  artifacts,
  models,
  run,
  log,
  syncCommand,
  pullCommand,
  exportCommand,
  importCommand,
  verify,
  gc,
  server,
  ui,
  completion,
];
