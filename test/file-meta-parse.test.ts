import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromYaml, parseFlatYaml, toYaml } from "../src/store/file/yaml.ts";

/** What the full YAML 1.1 parser reads; the fast path must agree exactly. */
const full = (text: string): unknown => parse(text, { version: "1.1" });

const RUN_META = `artifact_uri: 'file:///tmp/mlruns/1/abc/artifacts'
end_time: 1700006553500
entry_point_name: ''
experiment_id: '146533700909817485'
lifecycle_stage: 'active'
run_id: 'abc'
run_name: 'it''s a run'
source_name: ''
source_type: 4
source_version: ''
start_time: 1700006553000
status: 3
tags: []
user_id: 'bench'
`;

const strings = [
  "",
  "'",
  "''",
  "it's",
  "'quoted'",
  "a: b",
  "#c",
  " # not a comment",
  "yes",
  "null",
  "~",
  "0123",
  "12:30",
  "2024-01-01",
  "1e3",
  ".inf",
  "[1]",
  "{a: 1}",
  "- x",
  "back\\slash",
  'say "hi"',
  " pad ",
  "é 中 😀",
  "\u00a0nbsp",
  "%TAG",
  "&anchor *alias !tag | >",
];

describe("parseFlatYaml (the meta.yaml fast path)", () => {
  it("reads a run's meta.yaml as the YAML 1.1 parser does", () => {
    expect(parseFlatYaml(RUN_META)).toStrictEqual(full(RUN_META));
    expect(parseFlatYaml(RUN_META)).toMatchObject({ run_name: "it's a run", status: 3 });
  });

  it.each(strings)("reads the quoted string %j as the YAML 1.1 parser does", (value) => {
    const text = toYaml({ a: value, b: null, c: 7, d: [], e: {}, f: -12, g: 0 });
    expect(parseFlatYaml(text)).toBeDefined();
    expect(parseFlatYaml(text)).toStrictEqual(full(text));
  });

  it("agrees with the parser on random quoted strings", () => {
    let seed = 1;
    const rand = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = [
      "'",
      "a",
      " ",
      ":",
      "#",
      "\\",
      '"',
      "é",
      "😀",
      "-",
      "0",
      "\t",
      "\n",
      "\u2028",
    ];
    for (let i = 0; i < 500; i++) {
      let value = "";
      const length = Math.floor(rand() * 12);
      for (let j = 0; j < length; j++) value += alphabet[Math.floor(rand() * alphabet.length)];
      const text = toYaml({ k: value, n: Math.floor(rand() * 1e12) });
      const flat = parseFlatYaml(text);
      if (flat !== undefined) expect(flat).toStrictEqual(full(text));
      expect(fromYaml(text)).toStrictEqual(full(text));
      expect(fromYaml(text)).toStrictEqual({ k: value, n: expect.any(Number) });
    }
  });

  const unusual = [
    "",
    "a: 'x'", // no final newline
    "a: 'x'\r\n",
    "# comment\na: 'x'\n",
    "a: 'x'\n\nb: 'y'\n",
    "---\na: 'x'\n",
    "a: 'x' # comment\n",
    "a:  'x'\n",
    "a: 'x' \n",
    "a:\n  b: 'x'\n",
    "a: x\n",
    'a: "x"\n',
    "a: true\n",
    "a: ~\n",
    "a: 0123\n",
    "a: 1_000\n",
    "a: -0\n",
    "a: +1\n",
    "a: 0x1f\n",
    "a: 1.5\n",
    "a: 12345678901234567890\n",
    "a: 'it's'\n",
    "a: '''\n",
    "a: 'tab\t'\n",
    "a: 'x\u0085y'\n",
    "yes: 'x'\n",
    "y: 'x'\n",
    "on: 'x'\n",
    "Run_id: 'x'\n",
    "run.id: 'x'\n",
    "__proto__: 'x'\n",
    "a: 'x'\na: 'y'\n",
    "\ufeffa: 'x'\n",
    "a: [1]\n",
    "a: {b: 1}\n",
  ];

  it.each(unusual)("leaves %j to the full parser", (text) => {
    expect(parseFlatYaml(text)).toBeUndefined();
    let expected: unknown;
    try {
      expected = full(text);
    } catch (error) {
      expect(() => fromYaml(text)).toThrow((error as Error).message);
      return;
    }
    expect(fromYaml(text)).toStrictEqual(expected);
  });
});
