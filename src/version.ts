/** mlruns's own version, from its package.json (found from this file, in src/ or dist/src/). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "mlruns" && pkg.version) return pkg.version;
    } catch {
      // No package.json here: look further up.
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

export const VERSION = packageVersion();
