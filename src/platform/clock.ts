/**
 * The one source of time. Tests move it forward with `advanceClock` instead of sleeping; everything that
 * stamps, schedules or expires reads `now()`.
 */
let offsetMs = 0;

/** Current time in milliseconds since the epoch. */
export function now(): number {
  return Date.now() + offsetMs;
}

/** Moves the clock forward (tests and simulations only). */
export function advanceClock(ms: number): void {
  offsetMs += ms;
}

/** Sets the clock to an instant; it keeps running from there (tests and simulations only). */
export function setClock(atMs: number): void {
  offsetMs = atMs - Date.now();
}

/** Puts the clock back to real time. */
export function resetClock(): void {
  offsetMs = 0;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toIsoOrNull(ms: number | null | undefined): string | null {
  return ms == null ? null : toIso(ms);
}

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const DAY_MS = 86_400_000;
