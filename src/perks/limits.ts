/** Bounds of perk definitions: each a named constant so schemas and reads share them. */
export const MAX_TENURE_DAYS = 36_600;
/** Longest streak a perk may ask for; a member's streak is read from at most this many month rows. */
export const MAX_STREAK_MONTHS = 60;
export const MAX_QUOTA_USES = 1000;
export const MAX_LAPSE_DAYS = 3660;
/** Perks per merchant: every member read evaluates all of them. */
export const MAX_PERKS = 100;
