import { describe, expect, test } from "vitest";
import { isMlflowError } from "../../src/errors.ts";
import { searchExperiments, searchRuns } from "../../src/search/index.ts";
import { checkMaxResults, decodePageToken, encodePageToken } from "../../src/search/page.ts";
import { makeExperiment, makeRun } from "./helpers.ts";

const runs = Array.from({ length: 7 }, (_, i) => makeRun({ id: `r${i}`, start: i }));
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("paging", () => {
  test("pages walk the whole result, and the last page has no token", () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = searchRuns(runs, { maxResults: 3, pageToken: token });
      seen.push(...page.runs.map((r) => r.info.runId));
      token = page.nextPageToken;
      pages++;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(["r6", "r5", "r4", "r3", "r2", "r1", "r0"]);
  });

  test("an exactly full last page has no token", () => {
    expect(searchRuns(runs, { maxResults: 7 }).nextPageToken).toBeUndefined();
    expect(searchRuns(runs, { maxResults: 6 }).nextPageToken).toBeDefined();
  });

  test("tokens are base64 JSON with an offset", () => {
    const token = searchRuns(runs, { maxResults: 2 }).nextPageToken as string;
    expect(JSON.parse(Buffer.from(token, "base64").toString())).toMatchObject({ offset: 2 });
  });

  test("MLflow's own tokens are accepted", () => {
    const page = searchRuns(runs, { maxResults: 2, pageToken: b64('{"offset": 5}') });
    expect(page.runs.map((r) => r.info.runId)).toEqual(["r1", "r0"]);
  });

  const query = { kind: "runs" as const, filter: "metrics.a > 1", orderBy: ["metrics.a"] };
  test.each([
    ["not base64!", "could not base64-decode"],
    [b64("not json"), "Invalid page token, decoded value=not json"],
    [b64('{"offset": 0}'), "Invalid page token, parsed value="],
    [b64("{}"), "Invalid page token, parsed value="],
    [b64('{"offset": "x"}'), "not stringable"],
    [b64('{"offset": -3}'), "not stringable"],
    // a token of another query, or with its offset edited
    [encodePageToken(2, { ...query, filter: "metrics.a > 2" }), "issued for another filter"],
    [encodePageToken(2, { ...query, kind: "experiments" }), "issued for another filter"],
    [
      b64(
        Buffer.from(encodePageToken(2, query), "base64")
          .toString()
          .replace('"offset": 2', '"offset": 3'),
      ),
      "altered",
    ],
  ])("rejects %s", (token, message) => {
    let error: unknown;
    try {
      decodePageToken(token, query);
    } catch (e) {
      error = e;
    }
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  test("a token round-trips for its own query", () => {
    expect(decodePageToken(encodePageToken(4, query), query)).toBe(4);
  });

  test.each([
    [undefined, 1000],
    [1, 1],
    [50000, 50000],
  ])("max_results %s → %s", (given, expected) => {
    expect(checkMaxResults(given)).toBe(expected);
  });

  test.each([
    [0, "must be a positive integer"],
    [-1, "must be a positive integer"],
    [1.5, "must be a positive integer"],
    [50001, "It must be at most 50000"],
  ])("max_results %s is rejected", (given, message) => {
    expect(() => checkMaxResults(given)).toThrow(message);
  });
});

describe("searchExperiments", () => {
  const exps = [
    makeExperiment({ experimentId: "2", name: "proj-b", creationTime: 20, tags: { team: "cv" } }),
    makeExperiment({ experimentId: "10", name: "proj-a", creationTime: 20 }),
    makeExperiment({ experimentId: "1", name: "other", creationTime: 30, lastUpdateTime: null }),
  ];
  const names = (r: ReturnType<typeof searchExperiments>) =>
    r.experiments.map((e) => e.experimentId);
  test.each([
    [{}, ["1", "2", "10"]],
    [{ filter: "name LIKE 'proj-%'" }, ["2", "10"]],
    [{ filter: "tags.team = 'cv'" }, ["2"]],
    [{ filter: "tags.team IS NULL" }, ["1", "10"]],
    [{ filter: "experiment_id IN ('1', '10')" }, ["1", "10"]],
    [{ filter: "creation_time < 25" }, ["2", "10"]],
    [{ orderBy: ["name"] }, ["1", "10", "2"]],
    [{ orderBy: ["creation_time"] }, ["10", "2", "1"]],
    [{ orderBy: ["experiment_id"] }, ["1", "2", "10"]],
    [{ orderBy: ["last_update_time DESC"] }, ["10", "2", "1"]],
  ])("%j", (query, expected) => {
    expect(names(searchExperiments(exps, query))).toEqual(expected);
  });

  test("tags cannot order experiments", () => {
    expect(() => searchExperiments(exps, { orderBy: ["tags.team"] })).toThrow(
      "Invalid order_by entity: tag",
    );
  });
});
