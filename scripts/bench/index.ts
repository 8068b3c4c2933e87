/**
 * `npm run bench`: our code and MLflow on the same data, on this machine, in one run; prints
 * the figures and their ratios. Each section is a module of its own.
 */
import { loggingBench } from "./logging.ts";
import { ensureMlflow } from "./mlflow.ts";
import { printTable } from "./report.ts";
import { searchBench } from "./search.ts";

await ensureMlflow();
printTable("Metric logging (FileStore vs MLflow's file store)", await loggingBench());
printTable("Search (FileStore.searchRuns vs MLflow search_runs)", await searchBench());
