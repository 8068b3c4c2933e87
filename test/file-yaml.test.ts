import { describe, expect, it } from "vitest";
import { fromYaml, toYaml } from "../src/store/file/yaml.ts";

describe("meta.yaml text", () => {
  const traps = [
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "null",
    "~",
    "",
    "12:30",
    "0123",
    "1_000",
    "0x1F",
    "2024-01-01",
    "1e3",
    ".inf",
    "-.nan",
    "true",
    "'",
    "it's",
    'say "hi"',
    "a: b",
    "- x",
    "#c",
    "[1]",
    "{a: 1}",
    "line\nbreak\n",
    "tab\t",
    "\u0085\u2028\u2029\ufeff",
    "\x00\x07\x1b",
    "é 中 😀",
    " pad ",
    "back\\slash",
    "%TAG",
    "&anchor",
    "*alias",
    "!tag",
    "|",
    ">",
    "@at",
    "`tick`",
  ];

  it.each(traps)("keeps %j a string under YAML 1.1", (value) => {
    const text = toYaml({ name: value, nested: { [value === "" ? "empty" : value]: value } });
    expect(fromYaml(text)).toEqual({
      name: value,
      nested: { [value === "" ? "empty" : value]: value },
    });
  });

  it("sorts keys and writes MLflow's shapes for numbers, nulls and empty collections", () => {
    expect(toYaml({ z: 1, a: null, m: [], t: {}, b: true, s: "x", l: ["a"] })).toBe(
      "a: null\nb: true\nl:\n  - 'a'\nm: []\ns: 'x'\nt: {}\nz: 1\n",
    );
  });

  it("refuses what it cannot write faithfully", () => {
    expect(() => toYaml({ f: 1.5 })).toThrow(/integers/);
  });
});
