/**
 * Verified-token cache keys: the cache ({@link ExpiringLru}) is keyed by a
 * SHA-256 of the token, so the token itself is never kept.
 */
import { hash } from 'node:crypto';

/** Cache key for a token: its SHA-256, so a heap dump holds no bearer tokens. */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}
