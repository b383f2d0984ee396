/**
 * The merchant's earning configuration (program settings, tier ladder, active rules), cached in the isolate
 * and re-read only when the merchant's configuration version changes (config-version.ts). The checkout
 * reads that version with authentication; its program, ladder and rules reads return rows only when the
 * version differs from the cached one, so a steady checkout reads a few index entries, not every rule,
 * and parses and compiles nothing.
 *
 * Entries are keyed by the API key's hash: the checkout's reads are prefetched before the merchant is known,
 * and a key always belongs to one merchant. Revocation is unaffected: every request still checks its key.
 */
import type { ProgramSettings } from "../program/settings";
import type { Ladder } from "../tiers/ladder";
import type { RuleSet } from "./rule-set";
import type { StampCard } from "./stamps";

export interface CheckoutConfig {
  program: ProgramSettings;
  /** The tier ladder, null when the merchant has none. */
  ladder: Ladder | null;
  /** The active rules, compiled once per version (rule-set.ts). */
  ruleSet: RuleSet;
  /** Active stamp cards. */
  stampCards: StampCard[];
}

interface Entry {
  version: number;
  config: CheckoutConfig;
}

const MAX_ENTRIES = 1000;
const entries = new Map<string, Entry>();

/** The version the cache holds for a key, or null. */
export function cachedVersion(key: string): number | null {
  return entries.get(key)?.version ?? null;
}

/** The cached configuration at exactly `version`, or undefined. */
export function cachedConfig(key: string, version: number): CheckoutConfig | undefined {
  const entry = entries.get(key);
  return entry?.version === version ? entry.config : undefined;
}

export function rememberConfig(key: string, version: number, config: CheckoutConfig): void {
  if (entries.size >= MAX_ENTRIES && !entries.has(key)) entries.clear();
  const current = entries.get(key);
  // Concurrent requests may finish out of order: never replace a newer version with an older one.
  if (!current || current.version <= version) entries.set(key, { version, config });
}
