/** Bounds of perk definitions: each a named constant so schemas and reads share them. */
import { MAX_UNITS } from "../platform/validation";

export const MAX_TENURE_DAYS = 36_600;
/** Longest streak a perk may ask for; a member's streak is read from at most this many month rows. */
export const MAX_STREAK_MONTHS = 60;
export const MAX_QUOTA_USES = 1000;
export const MAX_LAPSE_DAYS = 3660;
/** Perks per merchant: every member read evaluates all of them. */
export const MAX_PERKS = 100;
/**
 * Most a perk may be worth in one quota period (value x quota.uses; value alone without a quota): no more
 * than any single amount the engine takes. With at most MAX_PERKS perks, the perks a switching-cost
 * statement sums stay far below MAX_TOTAL, so its totals are exact integers.
 */
export const MAX_PERK_WORTH = MAX_UNITS;
