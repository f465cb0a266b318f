/**
 * The process environment, read here and nowhere else in src/: every other
 * module takes the variables it needs as a parameter, so tests pass their
 * own and the README's table (test/unit/repo/env-vars.test.ts) has one
 * place to look.
 */

/** Environment variables by name. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The operational log level variable. */
export const LOG_LEVEL_ENV = 'ROLEGATE_LOG_LEVEL';

/** This process's environment. */
export function processEnvironment(): Environment {
  return process.env;
}

/** `ROLEGATE_LOG_LEVEL` of `env` (default this process's), else `info`. */
export function logLevelOf(env: Environment = processEnvironment()): string {
  return env[LOG_LEVEL_ENV] ?? 'info';
}
