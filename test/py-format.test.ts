import { describe, expect, it } from "vitest";
import { type ParamValue, pyFloatRepr, pyStr } from "../src/py-format.ts";

// Expected values were printed by CPython 3 (`repr(float)` and `str(value)`).
describe("pyFloatRepr", () => {
  const cases: [number, string][] = [
    [5.0, "5.0"],
    [1e-7, "1e-07"],
    [-1e-7, "-1e-07"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [2 ** 53, "9007199254740992.0"],
    [0.0001, "0.0001"],
    [1e-5, "1e-05"],
    [0.001, "0.001"],
    [123456789012345.6, "123456789012345.6"],
    [Number.NaN, "nan"],
    [Number.POSITIVE_INFINITY, "inf"],
    [Number.NEGATIVE_INFINITY, "-inf"],
    [-0, "-0.0"],
    [0, "0.0"],
    [0.1, "0.1"],
    [1 / 3, "0.3333333333333333"],
    [-2.5, "-2.5"],
    [100, "100.0"],
    [12345.678, "12345.678"],
    [1e22, "1e+22"],
    [1.5e300, "1.5e+300"],
    [5e-324, "5e-324"],
    [Number.MAX_VALUE, "1.7976931348623157e+308"],
  ];
  it.each(cases)("repr(%s) is %s", (value, expected) => {
    expect(pyFloatRepr(value)).toBe(expected);
  });

  it("reads back as the same number", () => {
    for (const [value] of cases) {
      const text = pyFloatRepr(value).replace("nan", "NaN").replace("inf", "Infinity");
      expect(Object.is(Number(text), value)).toBe(true);
    }
  });
});

describe("pyStr", () => {
  const cases: [string, ParamValue, string][] = [
    ["True", true, "True"],
    ["False", false, "False"],
    ["None", null, "None"],
    ["undefined as None", undefined, "None"],
    ["a string, verbatim", "0.01", "0.01"],
    ["an integer", 5, "5"],
    ["a float", 1.5, "1.5"],
    ["a small float", 1e-7, "1e-07"],
    ["a bigint", 12345678901234567890n, "12345678901234567890"],
    ["a list", [1, "a"], "[1, 'a']"],
    ["an empty list", [], "[]"],
    ["a dict", { k: 1 }, "{'k': 1}"],
    ["an empty dict", {}, "{}"],
    ["nested", { a: [1, { b: null }] }, "{'a': [1, {'b': None}]}"],
    [
      "quotes in a list",
      [true, null, 1.5, "it's", 'a"b', `both'"`],
      `[True, None, 1.5, "it's", 'a"b', 'both\\'"']`,
    ],
    [
      "escapes in a list",
      ["tab\tnl\nx\u0000\u007f\u0080\u00a0\u00ad\u2028é😀"],
      "['tab\\tnl\\nx\\x00\\x7f\\x80\\xa0\\xad\\u2028é😀']",
    ],
  ];
  it.each(cases)("str of %s", (_, value, expected) => {
    expect(pyStr(value)).toBe(expected);
  });
});
