/** Writes of perk state: a transition with its event, conditional on the state it was decided from. */

import { type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { type PerkTransition, type StoredPerkState, transitionState } from "./transitions";

export function transitionSql(
  merchantId: string,
  memberId: string,
  perkId: string,
  stored: StoredPerkState | undefined,
  t: PerkTransition,
): Sql[] {
  const key = sql`merchant_id = ${merchantId} AND member_id = ${memberId} AND perk_id = ${perkId}`;
  // The state this transition was decided from: absent, or exactly as read.
  const asRead = stored
    ? sql`EXISTS (SELECT 1 FROM member_perks WHERE ${key} AND unlocked = ${stored.unlocked} AND lapsed_at IS ${stored.lapsedAt})`
    : sql`NOT EXISTS (SELECT 1 FROM member_perks WHERE ${key})`;
  const { unlocked, lapsedAt } = transitionState(stored, t);
  return [
    sql`INSERT INTO perk_events (id, merchant_id, member_id, perk_id, kind, reason, at)
      SELECT ${newId("pe", t.at)}, ${merchantId}, ${memberId}, ${perkId}, ${t.kind}, ${t.reason}, ${t.at} WHERE ${asRead}`,
    sql`INSERT INTO member_perks (merchant_id, member_id, perk_id, unlocked, lapsed_at, changed_at)
      SELECT ${merchantId}, ${memberId}, ${perkId}, ${unlocked}, ${lapsedAt}, ${t.at} WHERE ${asRead}
      ON CONFLICT (merchant_id, member_id, perk_id) DO UPDATE SET unlocked = excluded.unlocked,
        lapsed_at = excluded.lapsed_at, changed_at = excluded.changed_at`,
  ];
}
