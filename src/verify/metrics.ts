/**
 * Metric files line by line, as MLflow's reader sees them (`int(ts) float(value) int(step)`,
 * 2, 3 or 5 fields) and as `migrate-filestore` does (no two identical points). `repairMetricText`
 * is the safe rewrite: blank lines and repeated points dropped, `5.0`-style integers made integers.
 */
import { parsePyFloat } from "../py-format.ts";
import { problem, type VerifyProblem } from "./problems.ts";

const INTEGER = /^[+-]?\d+$/;
/** `3.0` or `1e3` → `"3"`/`"1000"`; undefined when the number is not a safe integer. */
function integral(text: string): string | undefined {
  const n = parsePyFloat(text);
  return n !== undefined && Number.isSafeInteger(n) ? String(n) : undefined;
}

type Line =
  | { kind: "blank" }
  | { kind: "bad"; reason: string }
  | { kind: "point"; fields: string[]; id: string; floatTs: boolean; floatStep: boolean };

function readLine(raw: string): Line {
  const line = raw.replace(/\r$/, "");
  if (line.trim() === "") return { kind: "blank" };
  const fields = line.split(" ");
  if (fields.length !== 2 && fields.length !== 3 && fields.length !== 5) {
    return {
      kind: "bad",
      reason: `expected 2, 3 or 5 space-separated fields, found ${fields.length}`,
    };
  }
  const [ts = "", value = "", step = "0"] = fields;
  const floatTs = !INTEGER.test(ts);
  const floatStep = !INTEGER.test(step);
  if (floatTs && parsePyFloat(ts) === undefined)
    return { kind: "bad", reason: `timestamp '${ts}' is not a number` };
  if (floatStep && parsePyFloat(step) === undefined)
    return { kind: "bad", reason: `step '${step}' is not a number` };
  const v = parsePyFloat(value);
  if (v === undefined) return { kind: "bad", reason: `value '${value}' is not a number` };
  const tsKey = floatTs ? (integral(ts) ?? ts) : String(BigInt(ts));
  const stepKey = floatStep ? (integral(step) ?? step) : String(BigInt(step));
  const id = `${tsKey} ${Number.isNaN(v) ? "nan" : String(v)} ${stepKey}`;
  return { kind: "point", fields, id, floatTs, floatStep };
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** The problems of one metric file (`path`, in the run folder `runDir`), from its text. */
export function checkMetricText(path: string, text: string, runDir: string): VerifyProblem[] {
  const lines = splitLines(text);
  const rewrite = {
    description: "",
    action: { kind: "rewrite-metric-file" as const, path, runDir },
  };
  if (lines.every((l) => l.trim() === "")) {
    return [
      problem({
        code: "METRIC_FILE_EMPTY",
        path,
        message: "metric file has no data; MLflow fails to read the run",
        read: true,
        fix: { description: "delete the empty file", action: { kind: "delete-file", path } },
      }),
    ];
  }
  const out: VerifyProblem[] = [];
  const seen = new Map<string, number>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const parsed = readLine(raw);
    if (parsed.kind === "blank") {
      out.push(
        problem({
          code: "METRIC_BLANK_LINE",
          path,
          line,
          message: "blank line; MLflow fails to read the run",
          read: true,
          migrate: true,
          fix: { ...rewrite, description: "remove the blank line" },
        }),
      );
      return;
    }
    if (parsed.kind === "bad") {
      out.push(
        problem({
          code: "METRIC_LINE_MALFORMED",
          path,
          line,
          message: `${parsed.reason}; MLflow fails to read the run`,
          read: true,
          migrate: true,
        }),
      );
      return;
    }
    const [ts = "", , step = "0"] = parsed.fields;
    for (const [isFloat, text, code, what] of [
      [parsed.floatTs, ts, "METRIC_FLOAT_TIMESTAMP", "timestamp"],
      [parsed.floatStep, step, "METRIC_FLOAT_STEP", "step"],
    ] as const) {
      if (!isFloat) continue;
      const fixed = integral(text);
      out.push(
        problem({
          code,
          path,
          line,
          message: `${what} '${text}' is not an integer; MLflow fails to read the run`,
          read: true,
          migrate: true,
          ...(fixed === undefined
            ? {}
            : { fix: { ...rewrite, description: `write the ${what} as ${fixed}` } }),
        }),
      );
    }
    const first = seen.get(parsed.id);
    if (first !== undefined) {
      out.push(
        problem({
          code: "METRIC_DUPLICATE_LINE",
          path,
          line,
          message: `repeats line ${first} (same timestamp, value and step); migrate-filestore rejects the tree`,
          migrate: true,
          fix: { ...rewrite, description: "remove the repeated line" },
        }),
      );
    } else seen.set(parsed.id, line);
  });
  return out;
}

/** The file's text with every safe repair made; `""` when nothing is left. */
export function repairMetricText(text: string): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of splitLines(text)) {
    const parsed = readLine(raw);
    if (parsed.kind === "blank") continue;
    if (parsed.kind === "bad") {
      out.push(raw);
      continue;
    }
    if (seen.has(parsed.id)) continue;
    seen.add(parsed.id);
    const fields = [...parsed.fields];
    if (parsed.floatTs) fields[0] = integral(fields[0] ?? "") ?? (fields[0] as string);
    if (parsed.floatStep && fields.length > 2) {
      fields[2] = integral(fields[2] ?? "") ?? (fields[2] as string);
    }
    out.push(fields.join(" "));
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
