/**
 * What this isolate last saw of a member, for a later request of the same member to skip a read (the
 * checkout's snapshot, earning/member-snapshot.ts). Every write this isolate makes to a member forgets it, so
 * the common sequence "redeem, then post the order" does not speculate on a member it just changed. Writes of
 * other isolates are not seen here: whoever uses a state must check it inside its write batch.
 */

const MAX_MEMBERS = 10_000;
const states = new Map<string, unknown>();

const keyOf = (merchantId: string, memberId: string) => `${merchantId}\u0000${memberId}`;

/** The member's state, removed: concurrent requests of the member read afresh rather than share it. */
export function takeMemberState<T>(merchantId: string, memberId: string): T | undefined {
  const key = keyOf(merchantId, memberId);
  const state = states.get(key) as T | undefined;
  if (state !== undefined) states.delete(key);
  return state;
}

export function keepMemberState(merchantId: string, memberId: string, state: unknown): void {
  if (states.size >= MAX_MEMBERS) states.clear();
  states.set(keyOf(merchantId, memberId), state);
}

/** Called by every write to a member (the ledger writer, member and tier updates). */
export function forgetMemberState(merchantId: string, memberId: string): void {
  states.delete(keyOf(merchantId, memberId));
}
