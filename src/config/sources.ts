/**
 * What one configuration generation was loaded from: the files read (the
 * config file, policy files given as `{ file: ... }`, issuers' `jwksFile`)
 * and a short hash over their contents, which names the generation in
 * metrics, audit records and logs.
 */
import { createHash } from 'node:crypto';

/** Files a load read, in order: absolute path -> text (undefined when it could not be read). */
export type FilesRead = Map<string, string | undefined>;

/** The files one configuration generation came from, and their hash. */
export interface ConfigSources {
  /** Absolute paths of every file read, the config file first (absent when read from standard input). */
  readonly files: readonly string[];
  /** {@link configHash} of the config text and those files' contents. */
  readonly hash: string;
}

/** Hex digits kept of the SHA-256 digest: 48 bits, plenty to tell generations apart. */
export const CONFIG_HASH_LENGTH = 12;

/**
 * SHA-256 over `texts` in order, each framed by its UTF-8 byte length (so
 * moving text from one file to the next changes the hash), as the first
 * {@link CONFIG_HASH_LENGTH} hex digits. File names are left out: the same
 * config mounted at another path hashes the same.
 */
export function configHash(texts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const text of texts) hash.update(`${Buffer.byteLength(text)}\n`).update(text);
  return hash.digest('hex').slice(0, CONFIG_HASH_LENGTH);
}

/**
 * The sources of a successful load: `read` holds the files read, and
 * `configText` the config itself when it did not come from a file (e.g.
 * standard input; default: it is the first file of `read`).
 */
export function configSourcesOf(read: FilesRead, configText?: string): ConfigSources {
  const texts = [...read.values()].filter((t): t is string => t !== undefined);
  return {
    files: [...read.keys()],
    hash: configHash(configText === undefined ? texts : [configText, ...texts]),
  };
}
