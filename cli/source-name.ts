/**
 * `mlflow.source.name` for a command run by `mlruns run`: what MLflow would record had the
 * program started the run itself. MLflow takes `sys.argv[0]`, the script (`train.py` for
 * `python train.py`), so an interpreter's own options are skipped to find the script; `-m pkg`
 * gives the module, code given inline (`-c`, `-e`) the interpreter. Any other program is its
 * own source.
 */
import { basename } from "node:path";

interface Interpreter {
  name: RegExp;
  /** Options that take a value (`python -W ignore train.py`). */
  valued?: string[];
  /** The option naming a module instead of a script (`python -m pkg.train`). */
  module?: string;
  /** Options that run code from the command line: no script then. */
  inline: string[];
  /** A subcommand before the script (`deno run train.ts`). */
  subcommand?: string;
}

const INTERPRETERS: Interpreter[] = [
  {
    name: /^python(\d+(\.\d+)*)?$|^pypy\d*$/,
    valued: ["-W", "-X", "--check-hash-based-pycs"],
    module: "-m",
    inline: ["-c"],
  },
  {
    name: /^(node|nodejs|tsx|ts-node)$/,
    valued: ["-r", "--require", "--import", "--loader", "--experimental-loader", "-C"],
    inline: ["-e", "--eval", "-p", "--print"],
  },
  { name: /^(deno|bun)$/, inline: ["-e", "--eval", "eval"], subcommand: "run" },
  { name: /^(ba|z|da|k)?sh$/, valued: ["-o", "-O"], inline: ["-c"] },
  { name: /^(Rscript|ruby|perl|julia|lua)$/, inline: ["-e", "-E"] },
];

export function sourceName(command: readonly string[]): string {
  const [program, ...rest] = command;
  if (program === undefined) return "";
  const interpreter = INTERPRETERS.find((i) => i.name.test(basename(program)));
  if (interpreter === undefined) return program;
  const words = rest[0] === interpreter.subcommand ? rest.slice(1) : rest;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === interpreter.module) return words[i + 1] ?? program;
    if (interpreter.inline.includes(word)) return program;
    if (word === "--") return words[i + 1] ?? program;
    if (interpreter.valued?.includes(word)) i++;
    else if (!word.startsWith("-")) return word;
  }
  return program;
}
