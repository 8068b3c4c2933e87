/**
 * The order in which `npm test` hands files to its workers: the groups whose files run longest
 * first (the crash and concurrency trials, then the real MLflow, then the spawned CLI), so that
 * the longest files start at once and the many short unit files fill the gaps at the end instead
 * of leaving one long trial running alone. Within a group, vitest's own order: the slowest of the
 * last run first, larger files first on a fresh clone.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST_FIRST = ["slow", "compat", "e2e", "cloud", "browser", "unit"];

function rank(file: TestSpecification): number {
  const index = LONGEST_FIRST.indexOf(file.project.name);
  return index < 0 ? LONGEST_FIRST.length : index;
}

export default class LongestGroupsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
