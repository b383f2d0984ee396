/**
 * Whether a member may be created as referred by a code, decided from facts read beforehand (pure). A
 * refusal is 422 `unprocessable` with a machine-readable `reason` in the problem body, and writes nothing.
 */
import { ApiError } from "../platform/errors";

export const REFERRAL_REFUSALS = [
  "referrals_off",
  "unknown_code",
  "other_merchant_code",
  "self_referral",
  "existing_member",
  "referral_loop",
] as const;
export type ReferralRefusal = (typeof REFERRAL_REFUSALS)[number];

/** What the link decision needs, as read in one round trip (see link.ts). */
export interface LinkFacts {
  referralsOn: boolean;
  /** The code's owner, or null when no member anywhere holds the code. */
  owner: { merchantId: string; memberId: string } | null;
  /** The member named by the PUT, when it exists already: who referred it (null: nobody). */
  existing: { referredBy: string | null } | null;
  /** The owner's chain of referrers (the owner, its referrer, theirs...) reaches the new member. */
  loop: boolean;
}

/**
 * `create`: write the member with its referral. `unchanged`: the member exists and was already referred by
 * this code's owner (a retried PUT), so the link is kept and the rest of the body applies as an update.
 */
export type LinkDecision =
  | { kind: "create"; referrerId: string }
  | { kind: "unchanged" }
  | { kind: "refuse"; reason: ReferralRefusal };

/**
 * @example
 * decideLink("b", { referralsOn: true, owner: { merchantId: "m1", memberId: "a" }, existing: null, loop: false }, "m1")
 * // { kind: "create", referrerId: "a" }
 */
export function decideLink(memberId: string, facts: LinkFacts, merchantId: string): LinkDecision {
  const refuse = (reason: ReferralRefusal): LinkDecision => ({ kind: "refuse", reason });
  if (!facts.referralsOn) return refuse("referrals_off");
  if (!facts.owner) return refuse("unknown_code");
  // Codes are unique across merchants; say only that it is not this merchant's, nothing about its owner.
  if (facts.owner.merchantId !== merchantId) return refuse("other_merchant_code");
  if (facts.owner.memberId === memberId) return refuse("self_referral");
  if (facts.existing)
    return facts.existing.referredBy === facts.owner.memberId ? { kind: "unchanged" } : refuse("existing_member");
  if (facts.loop) return refuse("referral_loop");
  return { kind: "create", referrerId: facts.owner.memberId };
}

const MESSAGES: Record<ReferralRefusal, string> = {
  referrals_off: "the program has no referral settings: referrals are off",
  unknown_code: "is not a referral code",
  other_merchant_code: "is a referral code of another program",
  self_referral: "is the member's own code: a member cannot refer itself",
  existing_member: "applies only when the member is created: this member exists already",
  referral_loop: "would close a loop: the code's owner was itself referred, directly or not, by this member",
};

/** The 422 problem of a refusal: `reason` names it, `errors` points at referredBy. */
export function refusalError(reason: ReferralRefusal): ApiError {
  const error = new ApiError("unprocessable", `The referral was refused (${reason}); nothing was written.`, [
    { path: "referredBy", message: MESSAGES[reason] },
  ]);
  error.reason = reason;
  return error;
}
