/** Bounds of a tier ladder: small enough that ranks are CASE expressions inside every order's batch. */
export const MAX_TIERS = 20;
/** Longest rolling window and grace period: ten years. */
export const MAX_WINDOW_DAYS = 3660;
