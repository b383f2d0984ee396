/**
 * Seeds of the randomized suites. `RELIABILITY_SEED=7 npm test` replays one run; otherwise each suite runs
 * its fixed seeds plus `EXTRA_SEEDS` more (6 by default in CI), drawn from the suite's first fixed seed.
 */
import { env } from "cloudflare:test";

export interface TestSeeds {
  RELIABILITY_SEED: string | null;
  RACES_SEED: string | null;
  PROPERTY_SEED: string | null;
  extraSeeds: number;
}

export function seedsFor(variable: "RELIABILITY_SEED" | "RACES_SEED", fixed: readonly number[]): number[] {
  const replay = env.TEST_SEEDS[variable];
  if (replay) return [Number(replay)];
  const extra = Array.from({ length: env.TEST_SEEDS.extraSeeds }, (_, i) => fixed[0]! * 31 + i + 1);
  return [...fixed, ...extra];
}

/** The seed of a property run: PROPERTY_SEED when given, else the test's own. */
export function propertySeed(fallback: number): number {
  const replay = env.TEST_SEEDS.PROPERTY_SEED;
  return replay ? Number(replay) : fallback;
}
