/**
 * The tree the search differential test searches: two experiments, 36 runs, written the same way
 * by our FileStore (search.test.ts) and, for checking the harness, by real MLflow
 * (search_oracle.py --build). Numbers that JSON cannot hold are the strings "NaN", "Infinity",
 * "-Infinity".
 */

export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface TreeRun {
  experiment: 0 | 1;
  runName: string;
  user: string;
  startTime: number;
  /** Absent: the run stays RUNNING with no end time. */
  end?: { status: "FINISHED" | "FAILED" | "KILLED"; endTime: number };
  /** Each metric's history, logged in order with steps 0, 1, …; the last point is the latest. */
  metrics: Record<string, JsonNumber[]>;
  params: Record<string, string>;
  tags: Record<string, string>;
  datasets: { name: string; digest: string; context?: string }[];
  deleted?: boolean;
}

export interface TreeSpec {
  experiments: { name: string; tags: Record<string, string> }[];
  runs: TreeRun[];
}

const T0 = 1_700_000_000_000;

/** A small deterministic generator, so the tree is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function buildTreeSpec(): TreeSpec {
  const rand = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const lrs = ["0.01", "0.010", "1e-3", "0.1", "10", "9", "1", "abc", ""];
  const opts = ["adam", "Adam", "ADAM", "sgd", "rmsprop", "adamw"];
  const envs = ["prod", "prod-eu", "Prod", "staging", "dev"];
  const users = ["alice", "bob", "Bob", "carol"];
  const names = ["alpha", "beta", "my run", "Run 1", "ünïcode", "x_y", "50%", "a.b"];
  const runs: TreeRun[] = [];
  for (let i = 0; i < 36; i++) {
    const run: TreeRun = {
      experiment: i % 3 === 2 ? 1 : 0,
      runName: `${pick(names)}${i % 5 === 0 ? "" : `-${i}`}`,
      user: pick(users),
      // Every fourth run shares its start time with the previous one: ties break on run_id.
      startTime: T0 + (i % 4 === 3 ? i - 1 : i) * 1000,
      metrics: {},
      params: {},
      tags: {},
      datasets: [],
    };
    const statusRoll = i % 6;
    if (statusRoll !== 5) {
      run.end = {
        status: statusRoll === 4 ? "FAILED" : statusRoll === 3 ? "KILLED" : "FINISHED",
        endTime: run.startTime + 500 + i * 10,
      };
    }
    // acc: missing on some runs, NaN on some, ±inf on two.
    if (i % 7 !== 6) {
      const latest: JsonNumber =
        i % 9 === 4
          ? "NaN"
          : i === 10
            ? "Infinity"
            : i === 20
              ? "-Infinity"
              : Math.round(rand() * 1000) / 1000;
      run.metrics.acc = [Math.round(rand() * 100) / 100, latest];
    }
    // loss: a history whose latest is not its maximum.
    if (i % 5 !== 1) run.metrics.loss = [2.5, 1.25, Math.round(rand() * 200 - 50) / 100];
    if (i % 4 === 0) run.metrics["val loss"] = [i / 10];
    if (i % 6 === 1) run.metrics["m.dot"] = [i];
    if (i % 8 === 2) run.metrics.précision = [0.5 + i / 100];
    if (i === 3 || i === 15) run.metrics.acc = [0, 0];

    if (i % 3 !== 1) run.params.lr = pick(lrs);
    if (i % 4 !== 2) run.params.opt = pick(opts);
    if (i % 5 === 0) run.params["batch size"] = String(16 * (i + 1));
    if (i % 7 === 0) run.params["a.b"] = "dotted";
    const specials = [
      "it's",
      "50%_off",
      "a\\_b",
      "café",
      "CAFÉ",
      "line1\nline2",
      'say "hi"',
      "a.c",
      "abc",
      "ab",
      "x(y)+z",
      "日本語",
    ];
    if (i < specials.length) run.params.note = specials[i] as string;

    if (i % 2 === 0) run.tags.env = pick(envs);
    if (i % 3 === 0) run.tags.team = i % 2 === 0 ? "cv" : "nlp";
    if (i % 5 === 3) run.tags.ключ = "значение";
    if (i % 6 === 0) run.tags["mlflow.note.content"] = `note ${i}`;
    if (i % 10 === 7) run.tags["with space"] = "yes";

    if (i % 4 === 1) run.datasets.push({ name: "train", digest: `d${i % 3}`, context: "training" });
    if (i % 8 === 1) run.datasets.push({ name: "eval", digest: "e1", context: "evaluation" });
    if (i % 9 === 0) run.datasets.push({ name: "Train", digest: "d9" });

    if (i === 7 || i === 19 || i === 29) run.deleted = true;
    runs.push(run);
  }
  return {
    experiments: [
      { name: "search-a", tags: { team: "cv", stage: "prod" } },
      { name: "search-b", tags: { team: "nlp" } },
    ],
    runs,
  };
}
