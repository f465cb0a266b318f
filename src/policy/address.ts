/**
 * The one reading of an IP address, shared by every door (Envoy's
 * `source.address`, `X-Forwarded-For` from a trusted proxy, the HTTP check
 * listener's TCP peer) and by policy CIDR blocks (`IpAddress`,
 * `NotIpAddress`), so an address can never be one thing to the edge and
 * another to a policy.
 *
 * IPv6 text that carries an IPv4 address (docs/request-canonicalisation.md):
 * - IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 2.5.5.2) and the well-known
 *   NAT64 prefix `64:ff9b::a.b.c.d` (RFC 6052 2.1) name that IPv4 host:
 *   they are read as the IPv4 address, in any spelling (hex or dotted tail);
 * - IPv4-compatible `::a.b.c.d` (RFC 4291 2.5.5.1, deprecated), IPv4-
 *   translated `::ffff:0:a.b.c.d` (RFC 2765), 6to4 `2002::/16` (RFC 3056),
 *   Teredo `2001::/32` (RFC 4380), local-use NAT64 `64:ff9b:1::/48` (RFC
 *   8215) and ISATAP interface ids (RFC 5214) are refused as a request's
 *   address: each embeds an IPv4 address that an `IpAddress` block on IPv4
 *   would not see, and none is what a proxy or Envoy reports for a client.
 * - zone ids (`fe80::1%eth0`), ports, brackets, IPv4 octets with leading
 *   zeros (octal to some parsers) and shorthand IPv4 (`10.1`) are not
 *   addresses.
 *
 * Pure: no I/O, no globals.
 */

/** An IP address: IPv4 in `w[3]` with family 4, IPv6 as four 32-bit words. */
export interface Ip {
  readonly family: 4 | 6;
  readonly w: readonly [number, number, number, number];
}

/** A CIDR block: an address and its prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly w: readonly [number, number, number, number];
  readonly bits: number;
}

/** How an IPv6 address embeds an IPv4 one in a form a request may not use. */
export type RefusedEmbedding =
  | 'IPv4-compatible (::a.b.c.d, RFC 4291)'
  | 'IPv4-translated (::ffff:0:a.b.c.d, RFC 2765)'
  | '6to4 (2002::/16, RFC 3056)'
  | 'Teredo (2001::/32, RFC 4380)'
  | 'local-use NAT64 (64:ff9b:1::/48, RFC 8215)'
  | 'ISATAP (::5efe:a.b.c.d, RFC 5214)';

/** The canonical text of an address, or why a request may not carry it. */
export type AddressResult =
  { readonly ok: true; readonly ip: string } | { readonly ok: false; readonly reason: string };

function parseV4Num(text: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return undefined;
    if (digits === 0) leadingZero = d === 0;
    else if (leadingZero) return undefined;
    octet = octet * 10 + d;
    if (++digits > 3 || octet > 255) return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + octet;
}

function parseV6Words(text: string): [number, number, number, number] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] ?? '';
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseV4Num(g);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (left === undefined || right === undefined) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    all = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    all = left;
  }
  if (all.length !== 8) return undefined;
  const w = (i: number): number => (all[i] ?? 0) * 65536 + (all[i + 1] ?? 0);
  return [w(0), w(2), w(4), w(6)];
}

/** The IPv4 address an IPv6 address stands for (mapped, well-known NAT64), if any. */
function embeddedV4(w: readonly [number, number, number, number]): number | undefined {
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return w[3];
  if (w[0] === 0x0064ff9b && w[1] === 0 && w[2] === 0) return w[3];
  return undefined;
}

/**
 * Parses an IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) and
 * well-known NAT64 (`64:ff9b::a.b.c.d`) become IPv4. `undefined` when the
 * text is not an address.
 */
export function parseIp(text: string): Ip | undefined {
  if (text.includes(':')) {
    const w = parseV6Words(text);
    if (w === undefined) return undefined;
    const v4 = embeddedV4(w);
    return v4 === undefined ? { family: 6, w } : { family: 4, w: [0, 0, 0, v4] };
  }
  const n = parseV4Num(text);
  return n === undefined ? undefined : { family: 4, w: [0, 0, 0, n] };
}

/** The embedding a request may not carry, when `ip` (an IPv6 address) has one. */
export function refusedEmbedding(ip: Ip): RefusedEmbedding | undefined {
  if (ip.family === 4) return undefined;
  const [w0, w1, w2, w3] = ip.w;
  // :: (unspecified) and ::1 (loopback) share the IPv4-compatible prefix but embed nothing.
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 > 1) return 'IPv4-compatible (::a.b.c.d, RFC 4291)';
  if (w0 === 0 && w1 === 0 && w2 === 0xffff0000)
    return 'IPv4-translated (::ffff:0:a.b.c.d, RFC 2765)';
  if (w0 >>> 16 === 0x2002) return '6to4 (2002::/16, RFC 3056)';
  if (w0 === 0x20010000) return 'Teredo (2001::/32, RFC 4380)';
  if (w0 === 0x0064ff9b && w1 >>> 16 === 0x0001)
    return 'local-use NAT64 (64:ff9b:1::/48, RFC 8215)';
  // The u/g bits aside, an interface id of 0000:5efe or 0200:5efe is ISATAP's.
  if ((w2 & 0xfdffffff) >>> 0 === 0x00005efe) return 'ISATAP (::5efe:a.b.c.d, RFC 5214)';
  return undefined;
}

/** RFC 5952 text: lower case, the first longest run of two or more zero groups as `::`. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const n = ip.w[3];
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (const word of ip.w) groups.push(word >>> 16, word & 0xffff);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** True when `text` is a dotted-quad IPv4 address, which is then its own canonical text. */
export function isDottedIpv4(text: string): boolean {
  return parseV4Num(text) !== undefined;
}

/**
 * The canonical text of a request's address (dotted IPv4, or RFC 5952
 * IPv6), for every door: mapped and NAT64 forms are the IPv4 address; the
 * other embeddings of IPv4 are refused, as is anything that is not a bare
 * address.
 */
export function canonicalAddress(text: string): AddressResult {
  // Dotted IPv4 that parses is already its canonical text (no leading zeros,
  // no shorthand): the common case on every request, kept allocation-free.
  if (!text.includes(':')) {
    return isDottedIpv4(text) ? { ok: true, ip: text } : { ok: false, reason: 'not an IP address' };
  }
  const ip = parseIp(text);
  if (ip === undefined) return { ok: false, reason: 'not an IP address' };
  const embedding = refusedEmbedding(ip);
  if (embedding !== undefined) {
    return { ok: false, reason: `an IPv6 address embedding IPv4 as ${embedding}` };
  }
  return { ok: true, ip: formatIp(ip) };
}

/**
 * Parses a CIDR block or bare address (/32 or /128). A block written in an
 * IPv6 form that stands for IPv4 (mapped, NAT64) with a prefix of 96 or more
 * is the IPv4 block it spells (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const writtenV6 = addr.includes(':');
  const words = writtenV6 ? parseV6Words(addr) : undefined;
  const ip = writtenV6 ? words && { family: 6 as const, w: words } : parseIp(addr);
  if (ip === undefined) return undefined;
  const max = writtenV6 ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || (b.length > 1 && b.startsWith('0'))) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  const v4 = writtenV6 ? embeddedV4(ip.w) : undefined;
  if (v4 !== undefined && bits >= 96) return { family: 4, w: [0, 0, 0, v4], bits: bits - 96 };
  return { family: ip.family, w: ip.w, bits };
}

function maskWord(bitsLeft: number): number {
  if (bitsLeft >= 32) return 0xffffffff;
  if (bitsLeft <= 0) return 0;
  return (0xffffffff << (32 - bitsLeft)) >>> 0;
}

/** True when the address lies in the block. */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  // The families are disjoint, as in AWS: `::/0` holds no IPv4 address. (An
  // IPv4-mapped request address already parsed as IPv4, and a policy block
  // written as `::ffff:a.b.c.d/96..128` as the IPv4 block it spells.)
  if (c.family !== ip.family) return false;
  if (c.family === 4) {
    const m = maskWord(c.bits);
    return ((c.w[3] ^ ip.w[3]) & m) >>> 0 === 0;
  }
  for (let i = 0; i < 4; i++) {
    const m = maskWord(c.bits - i * 32);
    if (m === 0) return true;
    if ((((c.w[i] ?? 0) ^ (ip.w[i] ?? 0)) & m) >>> 0 !== 0) return false;
  }
  return true;
}
