/**
 * Whether a metric is better lower (a loss) or higher (an accuracy), so `runs compare` can colour
 * a change by what it means rather than by its sign. Known from the name, or told with
 * --lower-better / --higher-better; otherwise unknown, and the change is not coloured.
 */

export type Goal = "lower" | "higher";

const LOWER =
  /loss|err(or)?s?\b|^err|mse|mae|mape|perplexity|ppl|latency|duration|time|wer\b|cer\b|regret|cost|nll|distance/i;
const HIGHER =
  /acc|f1|auc|precision|recall|r2|score|iou|dice|\bmap\b|bleu|rouge|reward|return|throughput|success|top[-_]?\d/i;

export function goalOf(
  key: string,
  told: { lower: readonly string[]; higher: readonly string[] },
): Goal | undefined {
  if (told.lower.includes(key)) return "lower";
  if (told.higher.includes(key)) return "higher";
  if (LOWER.test(key)) return "lower";
  if (HIGHER.test(key)) return "higher";
  return undefined;
}

/** Whether a change of `delta` is an improvement (undefined: no goal, or no change). */
export function improves(delta: number, goal: Goal | undefined): boolean | undefined {
  if (goal === undefined || delta === 0 || Number.isNaN(delta)) return undefined;
  return goal === "lower" ? delta < 0 : delta > 0;
}
