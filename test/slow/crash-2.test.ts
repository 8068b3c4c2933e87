/** The crash trials (crash-trials.ts), part 2. */
import { crashTrials } from "./crash-trials.ts";

crashTrials(1);
