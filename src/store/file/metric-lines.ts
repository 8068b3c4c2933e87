/**
 * The metric line codec: `<timestamp> <value> <step>\n`, optionally followed by a dataset name and
 * digest. Values are written as Python's `repr(float)` and read as Python's `float()` reads them.
 */
import type { Metric } from "../../entities.ts";
import { numberText, parsePyFloat, pyFloatRepr } from "../../py-format.ts";

const INTEGER = /^[+-]?\d+$/;
export function formatMetricLine(metric: Metric, valueText = pyFloatRepr(metric.value)): string {
  const dataset =
    metric.datasetName !== undefined && metric.datasetDigest !== undefined
      ? ` ${metric.datasetName} ${metric.datasetDigest}`
      : "";
  return `${numberText(metric.timestamp)} ${valueText} ${numberText(metric.step)}${dataset}\n`;
}

/** Parses one line (without its newline); returns an error message when MLflow would fail. */
export function parseMetricLine(key: string, line: string): Metric | string {
  const fields = line.replace(/\r$/, "").split(" ");
  if (fields.length !== 2 && fields.length !== 3 && fields.length !== 5) {
    return `expected 2, 3 or 5 space-separated fields, found ${fields.length}`;
  }
  const [timestampText = "", valueText = "", stepText = "0", datasetName, datasetDigest] = fields;
  if (!INTEGER.test(timestampText)) return `timestamp '${timestampText}' is not an integer`;
  if (!INTEGER.test(stepText)) return `step '${stepText}' is not an integer`;
  const value = parsePyFloat(valueText);
  if (value === undefined) return `value '${valueText}' is not a number`;
  const metric: Metric = { key, value, timestamp: Number(timestampText), step: Number(stepText) };
  if (datasetName !== undefined && datasetDigest !== undefined) {
    metric.datasetName = datasetName;
    metric.datasetDigest = datasetDigest;
  }
  return metric;
}
