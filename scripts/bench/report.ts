/** One line of the benchmark table. */
export interface Row {
  what: string;
  ours: string;
  mlflow: string;
  ratio: string;
}

export const rate = (perSecond: number) =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)}M/s` : `${(perSecond / 1e3).toFixed(1)}k/s`;

export function printTable(title: string, rows: Row[]): void {
  const widths = [
    Math.max(...rows.map((r) => r.what.length), 4),
    Math.max(...rows.map((r) => r.ours.length), 6),
    Math.max(...rows.map((r) => r.mlflow.length), 6),
  ] as const;
  console.log(`\n${title}`);
  console.log(
    `${"what".padEnd(widths[0])}  ${"mlruns".padStart(widths[1])}  ${"MLflow".padStart(widths[2])}  ratio`,
  );
  for (const row of rows) {
    console.log(
      `${row.what.padEnd(widths[0])}  ${row.ours.padStart(widths[1])}  ${row.mlflow.padStart(widths[2])}  ${row.ratio}`,
    );
  }
}
