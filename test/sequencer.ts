/**
 * The order in which `npm test` hands files to its workers: first the few files a fresh clone's
 * run showed longest (a fresh clone has no timings of its own, and vitest would otherwise put
 * the larger files first, whatever they run), then the groups whose files run longest (the
 * crash and concurrency trials, then the real MLflow, then the spawned CLI), so that the longest
 * files start at once and the many short unit files fill the gaps at the end instead of leaving
 * one long file running alone. Within a group, vitest's own order.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST_FIRST = ["slow", "compat", "e2e", "cloud", "browser", "unit"];

/** Longest first: 250 to 450 s each on a fresh clone, beside the rest, on two cores. */
const LONG_FILES = [
  "test/slow/crash-",
  "test/compat/local-first.test.ts",
  "test/compat/sync.test.ts",
  "test/compat/sync-v2.test.ts",
];

function rank(file: TestSpecification): number {
  const long = LONG_FILES.findIndex((name) => file.moduleId.includes(`/${name}`));
  if (long >= 0) return long;
  const group = LONGEST_FIRST.indexOf(file.project.name);
  return LONG_FILES.length + (group < 0 ? LONGEST_FIRST.length : group);
}

export default class LongestGroupsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
