/**
 * Optional packages: official SDK parts that mlruns loads only for what its own code does not
 * do (single sign-on, assumed roles, instance identities). They are not dependencies; a user who
 * needs one installs it, and a missing one is a clear error naming the package.
 */
import { MlflowError } from "../errors.ts";

export async function loadOptional<T>(name: string, why: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") throw cause;
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `${why} needs the package ${name}, which is not installed`,
      {
        cause,
        hint: `Install it next to mlruns: npm install ${name}`,
      },
    );
  }
}
