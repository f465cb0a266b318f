/** A file-system error in a few plain words, without the library's raw message. */

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
};

/** The reason a read failed, e.g. `no such file or directory`; `cannot be read` for anything unknown. */
export function fsErrorReason(err: unknown): string {
  const code =
    typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  return (code !== undefined ? REASONS[code] : undefined) ?? 'it cannot be read';
}
