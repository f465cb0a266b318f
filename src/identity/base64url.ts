/**
 * Strict base64url, as RFC 7515 (section 2) defines it for JWS segments:
 * the URL-safe alphabet only, no `=` padding, no whitespace or line breaks,
 * and the unused bits of the last character zero. Every byte string has
 * exactly one such spelling, so a token cannot be re-spelled into another
 * string (another token-cache key, another replay identity) that still
 * verifies. jose's decoder (`atob` underneath) is more forgiving: it skips
 * whitespace, accepts padding and ignores the unused bits; rolegate refuses
 * those spellings (test/unit/identity/signature-equivalence.test.ts lists
 * them).
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Value of one base64url character (the caller has checked the alphabet). */
function sextet(code: number): number {
  if (code >= 0x61) return code - 0x61 + 26; // a-z
  if (code >= 0x41) return code - 0x41; // A-Z
  if (code >= 0x30) return code - 0x30 + 52; // 0-9
  return code === 0x2d ? 62 : 63; // '-' or '_'
}

/**
 * Decodes `text` when it is canonical base64url (see the module comment);
 * `undefined` otherwise. The empty string decodes to no bytes.
 */
export function decodeBase64urlStrict(text: string): Buffer | undefined {
  const rest = text.length % 4;
  if (rest === 1 || !ALPHABET.test(text)) return undefined;
  if (rest !== 0) {
    // 2 characters carry 1 byte (4 bits spare), 3 carry 2 bytes (2 spare).
    const spare = rest === 2 ? 0x0f : 0x03;
    if ((sextet(text.charCodeAt(text.length - 1)) & spare) !== 0) return undefined;
  }
  return Buffer.from(text, 'base64url');
}
