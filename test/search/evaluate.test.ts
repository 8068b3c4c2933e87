import { describe, expect, test } from "vitest";
import { matchesRun } from "../../src/search/evaluate.ts";
import { parseFilter } from "../../src/search/index.ts";
import { makeRun } from "./helpers.ts";

const matches = (filter: string, run = makeRun()) => matchesRun(run, parseFilter(filter));

describe("metrics", () => {
  const nan = makeRun({ metrics: { acc: Number.NaN } });
  const inf = makeRun({ metrics: { acc: Number.POSITIVE_INFINITY } });
  const none = makeRun({ metrics: {} });
  const half = makeRun({ metrics: { acc: 0.5 } });
  test.each([
    ["metrics.acc = 0.5", half, true],
    ["metrics.acc != 0.5", half, false],
    ["metrics.acc >= 0.5", half, true],
    ["metrics.acc < 0.5", half, false],
    // NaN: every comparison false except != (MLflow's FileStore, and its SQL store since 3.12)
    ["metrics.acc = 0", nan, false],
    ["metrics.acc < 0.5", nan, false],
    ["metrics.acc > 0.5", nan, false],
    ["metrics.acc != 0.5", nan, true],
    ["metrics.acc > 1e308", inf, true],
    // a missing key never matches, != included
    ["metrics.acc != 0.5", none, false],
    ["metrics.acc < 1", none, false],
  ])("%s", (filter, run, expected) => {
    expect(matches(filter, run)).toBe(expected);
  });
});

describe("params and tags", () => {
  const run = makeRun({
    params: {
      lr: "0.01",
      opt: "Adam",
      note: "line1\nline2",
      odd: "50%_off",
      bs: "a\\_b",
      empty: "",
    },
    tags: { env: "prod-eu", k: "café" },
  });
  test.each([
    ["params.lr = '0.01'", true],
    ["params.lr = '0.010'", false],
    ["params.lr != '0.1'", true],
    ["params.missing != 'x'", false],
    ["params.missing IS NULL", true],
    ["params.lr IS NULL", false],
    ["params.lr IS NOT NULL", true],
    ["params.empty = ''", true],
    ["params.empty IS NOT NULL", true],
    ["params.opt LIKE 'ad%'", false],
    ["params.opt LIKE 'Ad%'", true],
    ["params.opt ILIKE 'ADAM'", true],
    ["params.opt LIKE 'Ada_'", true],
    ["params.opt LIKE 'Ad_'", false],
    ["params.lr LIKE '0.0_'", true],
    ["params.lr LIKE '0_01'", true],
    ["params.lr LIKE '0x01'", false],
    // `%` and `_` cross newlines (SQL), and the match is anchored at both ends
    ["params.note LIKE '%line2'", true],
    ["params.note LIKE 'line1_line2'", true],
    ["params.note LIKE 'line1'", false],
    // no escape character: the backslash is literal
    ["params.odd LIKE '50\\%%'", false],
    ["params.odd LIKE '50%\\_off'", false],
    ["params.bs LIKE 'a\\_b'", true],
    ["params.bs LIKE 'a\\b'", false],
    ["tags.env LIKE 'prod%'", true],
    ["tags.env LIKE 'prod'", false],
    ["tags.k ILIKE 'CAFÉ'", true],
    ["tags.k LIKE 'caf_'", true],
  ])("%s", (filter, expected) => {
    expect(matches(filter, run)).toBe(expected);
  });
});

describe("attributes and datasets", () => {
  const running = makeRun({ id: "abc", name: "my run", status: "RUNNING", end: null, start: 100 });
  const finished = makeRun({
    id: "def",
    status: "FINISHED",
    end: 500,
    start: 200,
    datasets: [
      { name: "train", digest: "d1", context: "training" },
      { name: "eval", digest: "e1" },
    ],
  });
  test.each([
    ["status = 'RUNNING'", running, true],
    ["status LIKE 'FIN%'", finished, true],
    ["status ILIKE 'fin%'", finished, true],
    ["run_name = 'my run'", running, true],
    ["attributes.`Run name` LIKE 'my%'", running, true],
    ["run_id IN ('abc', 'x')", running, true],
    ["run_id NOT IN ('abc')", running, false],
    ["run_id IN ('ABC')", running, false],
    ["start_time > 150", finished, true],
    ["created <= 100", running, true],
    ["end_time > 0", running, false],
    ["end_time != 0", running, false],
    ["end_time = 500", finished, true],
    ["user_id = 'alice'", finished, true],
    ["artifact_uri LIKE 'file:%/def/artifacts'", finished, true],
    ["datasets.name = 'eval'", finished, true],
    ["datasets.name != 'train'", finished, true],
    ["datasets.name NOT IN ('train', 'eval')", finished, false],
    ["datasets.context = 'training'", finished, true],
    ["datasets.context != 'training'", finished, false],
    ["datasets.name = 'train'", running, false],
    ["datasets.name != 'x'", running, false],
  ])("%s", (filter, run, expected) => {
    expect(matches(filter, run)).toBe(expected);
  });
});
