/** The process tree from /proc (Linux), for tests that check nothing outlives a stop. */
import { readdirSync, readFileSync } from 'node:fs';

/** Every process whose parent chain leads to `root` (from /proc), with its command line. */
export function descendants(root: number): Map<number, string> {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
      cmd.set(
        Number(entry),
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim(),
      );
    } catch {
      // exited while we looked
    }
  }
  const found = new Map<number, string>();
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        found.set(pid, cmd.get(pid) ?? '');
        break;
      }
    }
  }
  return found;
}

/** Whether `pid` still runs (a zombie has exited: only its parent has not reaped it yet). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
