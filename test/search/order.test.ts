import { describe, expect, test } from "vitest";
import type { Run } from "../../src/entities.ts";
import { matchRuns, parseOrderBy, searchRuns } from "../../src/search/index.ts";
import { compareCodePoints, parseOrderByList, sortRuns } from "../../src/search/order.ts";
import { makeRun } from "./helpers.ts";

const ids = (runs: Run[]) => runs.map((r) => r.info.runId);

describe("parseOrderBy", () => {
  test.each([
    ["metrics.acc", { type: "metric", key: "acc", ascending: true }],
    ["metrics.acc DESC", { type: "metric", key: "acc", ascending: false }],
    ["metrics.acc  desc", { type: "metric", key: "acc", ascending: false }],
    ["metrics.`a b` ASC", { type: "metric", key: "a b", ascending: true }],
    ['metrics."a b"', { type: "metric", key: "a b", ascending: true }],
    ["`params`.lr", { type: "parameter", key: "lr", ascending: true }],
    ["tags.mlflow.runName DESC", { type: "tag", key: "mlflow.runName", ascending: false }],
    ["created", { type: "attribute", key: "start_time", ascending: true }],
    ["attributes.run_name DESC", { type: "attribute", key: "run_name", ascending: false }],
  ])("%s", (clause, expected) => {
    expect(parseOrderBy(clause)).toEqual(expected);
  });

  test.each([
    ["metrics.acc DESC, params.lr", "Could not be parsed"],
    ["metrics.acc DOWN", "Invalid ordering key in order_by clause 'metrics.acc DOWN'."],
    ["metrics.acc ASC DESC", "Could not be parsed"],
    [" metrics.acc", "Could not be parsed"],
    ["", "Could not be parsed"],
    ["attributes.`Run name`", "Invalid attribute key 'Run name'"],
    ["experiment_id", "Invalid attribute key 'experiment_id'"],
    ["datasets.name", "Invalid identifier type 'dataset'"],
    ["METRICS.acc", "Invalid entity type 'METRICS'"],
    ["params.a-b", "Could not be parsed"],
  ])("%s is rejected", (clause, message) => {
    expect(() => parseOrderBy(clause)).toThrow(message);
  });

  test("the same field twice is rejected", () => {
    expect(() => parseOrderByList(["metrics.a", "metrics.a DESC"])).toThrow("duplicate fields");
    expect(() => parseOrderByList(["start_time", "created"])).toThrow("duplicate fields");
  });
});

describe("sorting", () => {
  const runs = [
    makeRun({ id: "a", start: 1, metrics: { m: 0.9 }, params: { p: "10" } }),
    makeRun({ id: "b", start: 2, metrics: { m: Number.NaN }, params: { p: "9" } }),
    makeRun({ id: "c", start: 3, metrics: {}, params: {} }),
    makeRun({ id: "d", start: 4, metrics: { m: 0.1 }, params: { p: "A" } }),
    makeRun({ id: "e", start: 5, metrics: { m: Number.POSITIVE_INFINITY }, params: { p: "a" } }),
    makeRun({ id: "f", start: 5, metrics: { m: -1 }, params: { p: "a" }, end: null }),
  ];
  test.each([
    [[], ["e", "f", "d", "c", "b", "a"]],
    [["metrics.m"], ["f", "d", "a", "e", "b", "c"]],
    [["metrics.m DESC"], ["e", "a", "d", "f", "b", "c"]],
    [["params.p"], ["a", "b", "d", "e", "f", "c"]],
    [["params.p DESC"], ["e", "f", "d", "b", "a", "c"]],
    [["start_time"], ["a", "b", "c", "d", "e", "f"]],
    [["end_time DESC"], ["e", "d", "c", "b", "a", "f"]],
    [["end_time"], ["e", "d", "c", "b", "a", "f"]],
  ])("%j", (orderBy, expected) => {
    expect(ids(sortRuns(runs, parseOrderByList(orderBy)))).toEqual(expected);
  });

  test("end_time null goes last in both directions", () => {
    const r = [
      makeRun({ id: "x", end: null }),
      makeRun({ id: "y", end: 5 }),
      makeRun({ id: "z", end: 9 }),
    ];
    expect(ids(sortRuns(r, parseOrderByList(["end_time DESC"])))).toEqual(["z", "y", "x"]);
    expect(ids(sortRuns(r, parseOrderByList(["end_time"])))).toEqual(["y", "z", "x"]);
  });

  test("searchRuns orders by the default when no order_by is given", () => {
    expect(ids(searchRuns(runs).runs)).toEqual(["e", "f", "d", "c", "b", "a"]);
  });

  test("a limit gives the first runs of the whole order, and pages match the sorted whole", () => {
    // Many ties, NaN and missing values, so that every tie-break decides somewhere.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const many = Array.from({ length: 2000 }, (_, i) => {
      const metrics: Record<string, number> = {};
      if (next() < 0.9) metrics.m = next() < 0.05 ? Number.NaN : Math.floor(next() * 20);
      return makeRun({
        id: `r${String(i).padStart(4, "0")}`,
        start: Math.floor(next() * 5),
        metrics,
        params: next() < 0.8 ? { p: `v${Math.floor(next() * 4)}` } : {},
      });
    });
    for (const orderBy of [["metrics.m DESC"], ["params.p", "metrics.m"], [], ["start_time"]]) {
      const clauses = parseOrderByList(orderBy);
      const whole = ids(sortRuns(many, clauses));
      for (const limit of [1, 7, 100, 499, 501, 1999, 2000, 5000]) {
        expect(ids(sortRuns(many, clauses, limit))).toEqual(whole.slice(0, limit));
      }
      const paged: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = searchRuns(many, { orderBy, maxResults: 90, pageToken });
        paged.push(...ids(page.runs));
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect(paged).toEqual(whole);
    }
  });

  test("strings compare by code point", () => {
    const words = ["a", "B", "é", "𝔁", "\uffff", "10", "9"];
    expect([...words].sort(compareCodePoints)).toEqual(["10", "9", "B", "a", "é", "\uffff", "𝔁"]);
  });
});

describe("matchRuns with only the first runs ordered", () => {
  // Ties, NaN and missing values included, so every rule of the order takes part.
  const values = [0.5, 0.1, Number.NaN, 0.9, 0.1, undefined, 0.3];
  const runs = Array.from({ length: 300 }, (_, i) => {
    const m = values[(i * 7) % values.length];
    return makeRun({
      id: `r${String((i * 37) % 300).padStart(3, "0")}`,
      start: 1000 + ((i * 13) % 17),
      metrics: m === undefined ? {} : { m },
    });
  });

  test.each([
    [[], 0],
    [[], 1],
    [["metrics.m DESC"], 10],
    [["metrics.m"], 37],
    [["attributes.start_time"], 5],
  ])("order %j, first %i: the head a full sort gives, then every other match", (orderBy, first) => {
    const whole = ids(matchRuns(runs, { orderBy, filter: "attributes.run_name != 'r001'" }));
    const partial = ids(
      matchRuns(runs, { orderBy, filter: "attributes.run_name != 'r001'" }, first),
    );
    expect(partial.slice(0, first)).toEqual(whole.slice(0, first));
    expect([...partial].sort()).toEqual([...whole].sort());
    expect(partial).toHaveLength(299);
  });
});
