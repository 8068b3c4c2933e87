/** The crash trials (crash-trials.ts), part 1. */
import { crashTrials } from "./crash-trials.ts";

crashTrials(0);
