import { describe, expect, test } from "vitest";
import { isMlflowError } from "../../src/errors.ts";
import { parseExperimentFilter, parseFilter } from "../../src/search/index.ts";
import { parseRegistryFilter } from "../../src/search/registry-filter.ts";
import { caretColumn } from "./helpers.ts";

/** Clauses without their spans, for compact tables. */
const parsed = (filter: string) => parseFilter(filter).map(({ span: _span, ...rest }) => rest);

describe("parseFilter: valid filters", () => {
  test.each([
    ["", []],
    ["metrics.acc > 0.9", [{ type: "metric", key: "acc", comparator: ">", value: 0.9 }]],
    ["metric.loss <= -0.5", [{ type: "metric", key: "loss", comparator: "<=", value: -0.5 }]],
    ["metrics.loss >= 1e-3", [{ type: "metric", key: "loss", comparator: ">=", value: 0.001 }]],
    ["metrics.acc>.5", [{ type: "metric", key: "acc", comparator: ">", value: 0.5 }]],
    [
      "metrics.`val-loss` < 0.2",
      [{ type: "metric", key: "val-loss", comparator: "<", value: 0.2 }],
    ],
    ['metrics."val loss" != 1', [{ type: "metric", key: "val loss", comparator: "!=", value: 1 }]],
    ["`metrics`.acc = 1", [{ type: "metric", key: "acc", comparator: "=", value: 1 }]],
    ["params.lr = '0.01'", [{ type: "parameter", key: "lr", comparator: "=", value: "0.01" }]],
    ['params.lr = "0.01"', [{ type: "parameter", key: "lr", comparator: "=", value: "0.01" }]],
    ["param.opt like 'ad%'", [{ type: "parameter", key: "opt", comparator: "LIKE", value: "ad%" }]],
    [
      "parameters.o ILIKE '%A%'",
      [{ type: "parameter", key: "o", comparator: "ILIKE", value: "%A%" }],
    ],
    [
      "params.`my param` = ''",
      [{ type: "parameter", key: "my param", comparator: "=", value: "" }],
    ],
    ["params.lr IS NULL", [{ type: "parameter", key: "lr", comparator: "IS NULL" }]],
    ["tags.env is not null", [{ type: "tag", key: "env", comparator: "IS NOT NULL" }]],
    [
      "tags.mlflow.runName = 'x'",
      [{ type: "tag", key: "mlflow.runName", comparator: "=", value: "x" }],
    ],
    ['tags.k = "it\'s"', [{ type: "tag", key: "k", comparator: "=", value: "it's" }]],
    ["tags.k = 'it''s'", [{ type: "tag", key: "k", comparator: "=", value: "it''s" }]],
    ["tags.ключ = 'é'", [{ type: "tag", key: "ключ", comparator: "=", value: "é" }]],
    [
      "status = 'RUNNING'",
      [{ type: "attribute", key: "status", comparator: "=", value: "RUNNING" }],
    ],
    ["run.run_name = 'a'", [{ type: "attribute", key: "run_name", comparator: "=", value: "a" }]],
    [
      "attributes.`Run name` = 'a'",
      [{ type: "attribute", key: "run_name", comparator: "=", value: "a" }],
    ],
    ["attr.created >= 17", [{ type: "attribute", key: "start_time", comparator: ">=", value: 17 }]],
    [
      "run_id IN ('a', \"b\",)",
      [{ type: "attribute", key: "run_id", comparator: "IN", value: ["a", "b"] }],
    ],
    [
      "run_id not in ('a')",
      [{ type: "attribute", key: "run_id", comparator: "NOT IN", value: ["a"] }],
    ],
    [
      "run_id IN ('a' 'b')",
      [{ type: "attribute", key: "run_id", comparator: "IN", value: ["ab"] }],
    ],
    [
      "datasets.digest IN ('x')",
      [{ type: "dataset", key: "digest", comparator: "IN", value: ["x"] }],
    ],
    [
      "dataset.context = 'training'",
      [{ type: "dataset", key: "context", comparator: "=", value: "training" }],
    ],
    [
      "params.a = 'x' and params.b = 'y' AND",
      [
        { type: "parameter", key: "a", comparator: "=", value: "x" },
        { type: "parameter", key: "b", comparator: "=", value: "y" },
      ],
    ],
    ["AND AND params.a='x'and", [{ type: "parameter", key: "a", comparator: "=", value: "x" }]],
  ])("%s", (filter, expected) => {
    expect(parsed(filter)).toEqual(expected);
  });
});

describe("parseFilter: invalid filters (message, caret column)", () => {
  test.each([
    ["metrics.acc > '0.9'", "Expected numeric value type for metric. Found '0.9'", 14],
    ["metrics.acc = NaN", "Expected numeric value type for metric. Found NaN", 14],
    ["metrics.acc IN (1, 2)", "Expected numeric value type for metric. Found (1, 2)", 15],
    [
      "metrics.acc IS NULL",
      "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'acc'",
      12,
    ],
    ["metrics.acc", "Invalid clause(s) in filter string: 'metrics.acc'", 0],
    ["metrics.acc LIKE '1'", "Expected numeric value type for metric. Found '1'", 17],
    ["metrics.acc == 1", "Invalid comparator '==' not one of", 12],
    [
      "params.lr = 0.01",
      "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.01",
      12,
    ],
    ["params.lr = x", "Parameter value is either not quoted", 12],
    ["params.opt > 'a'", "Invalid comparator '>' not one of", 11],
    [
      "params.opt IN ('a')",
      "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')",
      14,
    ],
    ["params.my param = 'x'", "Invalid clause(s) in filter string: 'param'", 10],
    ["tags.env = 'a' OR tags.env = 'b'", "Invalid clause(s) in filter string: 'OR'", 15],
    [
      "metrics.acc > 0.9 and (params.a = 'x')",
      "Invalid clause(s) in filter string: '(params.a = 'x')'",
      22,
    ],
    ["metrics.acc > 1 AND NOT params.x = 'y'", "Invalid clause(s) in filter string: 'NOT'", 20],
    [
      "metrics.acc > 0.9; params.a = 'x'",
      "Search filter contained multiple expression \"metrics.acc > 0.9; params.a = 'x'\"",
      17,
    ],
    ["attributes.status IN ('FINISHED')", "Only ['run_id'] attributes support comparison", 21],
    ["attributes.status > 'A'", "Invalid comparator '>' not one of", 18],
    ["attributes.status IS NULL", "not for 'attribute' 'status'", 18],
    ["attributes.run_id IN ()", "but got empty list", 21],
    ["run_id IN (1, 2)", "but got different type in list: (1, 2)", 10],
    ["run_id IN ('a', x)", "but got ill-formed list.", 10],
    ["run_id = ('a', 'b')", "Comparator '=' cannot take a list", 7],
    [
      "attributes.start_time > '2024'",
      "Expected numeric value type for numeric attribute: start_time. Found '2024'",
      24,
    ],
    ["attributes.experiment_id = '1'", "Invalid attribute key 'experiment_id' specified", 11],
    ["lifecycle_stage = 'deleted'", "Invalid attribute key 'lifecycle_stage' specified", 0],
    ["datasets.source = 'x'", "Invalid dataset key 'source' specified", 9],
    [
      "foo.bar = 'x'",
      "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
      0,
    ],
    ["METRICS.acc > 1", "Invalid entity type 'METRICS'", 0],
    ["'x' = params.a", "Invalid comparison clause. Expected 'Identifier' found ''x''", 0],
    ["params.a = 'x", "Invalid clause(s) in filter string: '''", 11],
    ["   ", "Invalid filter '   '. Could not be parsed.", 0],
    ["params.a IS NOT  NULL", "Invalid clause(s) in filter string: 'NOT'", 12],
  ])("%s", (filter, message, column) => {
    let error: unknown;
    try {
      parseFilter(filter);
    } catch (e) {
      error = e;
    }
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    const text = (error as Error).message;
    const [first, shown] = text.split("\n");
    expect(first).toContain(message);
    expect(shown).toBe(filter);
    expect(caretColumn(text)).toBe(column);
  });

  test("the caret counts code points", () => {
    try {
      parseFilter("tags.𝔁 = 'a' OR x");
      expect.unreachable();
    } catch (e) {
      expect(caretColumn((e as Error).message)).toBe(13);
    }
  });
});

describe("parseExperimentFilter", () => {
  test.each([
    [
      "name LIKE 'proj-%'",
      [{ type: "attribute", key: "name", comparator: "LIKE", value: "proj-%" }],
    ],
    [
      "attribute.creation_time > 5",
      [{ type: "attribute", key: "creation_time", comparator: ">", value: 5 }],
    ],
    ["tags.team IS NULL", [{ type: "tag", key: "team", comparator: "IS NULL" }]],
    [
      "experiment_id IN ('1', '2')",
      [{ type: "attribute", key: "experiment_id", comparator: "IN", value: ["1", "2"] }],
    ],
  ])("%s", (filter, expected) => {
    expect(parseExperimentFilter(filter).map(({ span: _s, ...rest }) => rest)).toEqual(expected);
  });

  test.each([
    [
      "attributes.name = 'x'",
      "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')",
    ],
    ["name > 'a'", "Invalid comparator for string attribute: >"],
    ["name IN ('a')", "Only ['experiment_id'] attributes support comparison"],
    [
      "creation_time LIKE '1%'",
      "Expected numeric value type for numeric attribute: creation_time. Found '1%'",
    ],
    ["creation_time > 1.5", "Invalid value for numeric attribute 'creation_time': '1.5'"],
    ["name IS NULL", "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'"],
    ["name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR"],
    ["lifecycle_stage = 'x'", "Invalid attribute key 'lifecycle_stage' specified"],
  ])("%s is rejected", (filter, message) => {
    expect(() => parseExperimentFilter(filter)).toThrow(message);
  });
});

describe("entity names as MLflow reads them", () => {
  // MLflow trims backticks off a run search's entity, not off an experiment or registry one's.
  test.each([
    ["experiments", () => parseExperimentFilter("`tags`.team = 'cv'")],
    ["registered models", () => parseRegistryFilter("`tags`.team = 'cv'", "models")],
    ["model versions", () => parseRegistryFilter("`attribute`.name = 'a'", "versions")],
  ])("a backticked entity is not one in %s searches", (_kind, parse) => {
    expect(parse).toThrow(
      /Invalid entity type '`(tags|attribute)`'. Valid entity types are \('attribute', 'tag', 'tags'\)/,
    );
  });

  test("backticked keys and run entities are trimmed", () => {
    const strip = (clauses: { span: unknown }[]) => clauses.map(({ span: _s, ...rest }) => rest);
    const tag = { type: "tag", key: "team", comparator: "=", value: "cv" };
    expect(strip(parseFilter("`tags`.team = 'cv'"))).toEqual([tag]);
    expect(strip(parseExperimentFilter("tags.`team` = 'cv'"))).toEqual([tag]);
    expect(strip(parseRegistryFilter("tags.`team` = 'cv'", "models"))).toEqual([tag]);
    expect(strip(parseRegistryFilter("`name` = 'm'", "versions"))).toEqual([
      { type: "attribute", key: "name", comparator: "=", value: "m" },
    ]);
  });
});
