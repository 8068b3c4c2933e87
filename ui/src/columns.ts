/**
 * The runs table's columns: the fixed ones (name, status, start, duration, user, source) and the
 * chosen ones, named `p:<param>`, `t:<tag>`, `m:<metric>`, `m:<metric>:min`, `m:<metric>:max`
 * (the names the server's table endpoint takes and the URL keeps).
 */

export interface FixedColumn {
  id: string;
  label: string;
  /** The order_by this column sorts by. */
  sort: string;
  width: number;
}

export const FIXED: FixedColumn[] = [
  { id: "name", label: "Run", sort: "attributes.run_name", width: 220 },
  { id: "status", label: "Status", sort: "attributes.status", width: 96 },
  { id: "start", label: "Started", sort: "attributes.start_time", width: 176 },
  { id: "duration", label: "Duration", sort: "duration", width: 88 },
  { id: "user", label: "User", sort: "attributes.user_id", width: 96 },
  { id: "source", label: "Source", sort: "tags.`mlflow.source.name`", width: 140 },
];

export const CHOSEN_WIDTH = 120;

const quote = (key: string) => `\`${key.replace(/`/g, "")}\``;

export interface ChosenColumn {
  spec: string;
  kind: "p" | "t" | "m";
  key: string;
  aggregate: "last" | "min" | "max";
  label: string;
  /** Undefined when the server cannot sort by it (a metric's min or max). */
  sort: string | undefined;
}

export function chosenColumn(spec: string): ChosenColumn {
  const kind = spec[0] as "p" | "t" | "m";
  let key = spec.slice(2);
  let aggregate: ChosenColumn["aggregate"] = "last";
  if (kind === "m") {
    const match = /^(.*):(min|max)$/.exec(key);
    if (match?.[1]) {
      key = match[1];
      aggregate = match[2] as "min" | "max";
    }
  }
  const entity = kind === "p" ? "params" : kind === "t" ? "tags" : "metrics";
  return {
    spec,
    kind,
    key,
    aggregate,
    label: aggregate === "last" ? key : `${key} (${aggregate})`,
    sort: aggregate === "last" ? `${entity}.${quote(key)}` : undefined,
  };
}

/** `metrics.\`acc\` DESC` → its column and direction. */
export function parseSort(orderBy: string | null): { sort: string; descending: boolean } | null {
  if (!orderBy) return null;
  const match = /^(.*?)\s+(ASC|DESC)$/i.exec(orderBy.trim());
  return match?.[1]
    ? { sort: match[1], descending: match[2]?.toUpperCase() === "DESC" }
    : { sort: orderBy.trim(), descending: false };
}

/** Default: newest first, as MLflow's UI. */
export const DEFAULT_ORDER = "attributes.start_time DESC";

export function gridTemplate(chosen: number): string {
  return [
    "40px",
    ...FIXED.map((c) => `${c.width}px`),
    ...Array.from({ length: chosen }, () => `${CHOSEN_WIDTH}px`),
  ].join(" ");
}
