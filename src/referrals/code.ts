/**
 * Referral codes: short enough to read out or type from a receipt, random enough that guessing one of
 * another member is hopeless. The alphabet leaves out 0/O and 1/I, which people confuse.
 */

/** 32 symbols: a random byte maps onto them without bias (256 is a multiple of 32). */
export const REFERRAL_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
export const REFERRAL_CODE_LENGTH = 10;
/** Longest code a request may name: anything longer cannot be a code, whatever its case or spacing. */
export const MAX_REFERRAL_CODE_INPUT = 64;

/**
 * A new random code (50 bits). Collisions are rare; the unique index catches them and the caller draws again.
 *
 * @example newReferralCode() // "K7QH3XMV9R"
 */
export function newReferralCode(): string {
  let code = "";
  for (const b of crypto.getRandomValues(new Uint8Array(REFERRAL_CODE_LENGTH))) {
    code += REFERRAL_CODE_ALPHABET[b % REFERRAL_CODE_ALPHABET.length];
  }
  return code;
}

/**
 * A code as typed, in the stored form: case and surrounding spaces do not matter.
 *
 * @example normalizeReferralCode(" k7qh3xmv9r ") // "K7QH3XMV9R"
 */
export function normalizeReferralCode(input: string): string {
  return input.trim().toUpperCase();
}
