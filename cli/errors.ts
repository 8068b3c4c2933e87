/** The CLI's own error: bad usage (exit 2). Library errors are MlflowError (exit 1). */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

export const EXIT = { ok: 0, error: 1, usage: 2 } as const;
