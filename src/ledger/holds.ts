/** How long a hold reserves points: one fact for the ledger (inline release), the jobs and the API descriptions. */
import { MINUTE_MS } from "../platform/clock";

export const HOLD_TTL_MS = 15 * MINUTE_MS;

/** HOLD_TTL_MS in words, for descriptions ("15 minutes"). */
export const HOLD_TTL_TEXT = `${HOLD_TTL_MS / MINUTE_MS} minutes`;
