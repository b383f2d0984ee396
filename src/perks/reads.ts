/**
 * Everything a member's perks depend on, in one round trip of bounded reads: the member row, the ladder's
 * tiers, the perk definitions, the lifetime activity row, the month rows a streak can span, the recorded
 * perk states, and this period's uses. None of it grows with the member's history.
 */
import { LIFETIME_KEY, monthKey } from "../activity/periods";
import { prepare, sql } from "../platform/d1/sql";
import { notFound } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { localDate } from "../platform/timezone";
import { MAX_PERKS, MAX_STREAK_MONTHS } from "./limits";
import { type PerkRow, perkFromRow } from "./perk-row";
import type { StoredPerkState } from "./transitions";
import { type MemberPerkFacts, type PerkDef, quotaPeriod } from "./unlock";

export interface MemberPerkContext {
  perks: PerkDef[];
  facts: Omit<MemberPerkFacts, "lapsedAt">;
  states: Map<string, StoredPerkState>;
  /** Uses counted this quota period, by perk. */
  used: Map<string, number>;
}

const PERK_COLUMNS = sql`id, name, value, unlock, quota_uses AS quotaUses, quota_per AS quotaPer, lapse_after_days AS lapseAfterDays`;

/** The perk definitions of the merchant, by id. */
export function perksQuery(merchantId: string) {
  return sql`SELECT ${PERK_COLUMNS} FROM perks WHERE merchant_id = ${merchantId} ORDER BY id LIMIT ${MAX_PERKS}`;
}

export async function readMemberPerks(scope: RequestScope, memberId: string): Promise<MemberPerkContext> {
  const { db, at } = scope;
  const merchantId = scope.merchant.id;
  const member = sql`merchant_id = ${merchantId} AND member_id = ${memberId}`;
  const today = localDate(at, scope.merchant.timezone);
  const first = new Date(Date.UTC(today.year, today.month - 1 - MAX_STREAK_MONTHS, 1));
  const [memberRows, tierRows, perkRows, lifetime, months, states, uses] = await db.batch([
    prepare(
      db,
      sql`SELECT enrolled_at AS enrolledAt, last_order_at AS lastOrderAt, tier_id AS tierId
      FROM members WHERE merchant_id = ${merchantId} AND id = ${memberId}`,
    ),
    prepare(db, sql`SELECT id FROM tiers WHERE merchant_id = ${merchantId} ORDER BY threshold`),
    prepare(db, perksQuery(merchantId)),
    prepare(db, sql`SELECT spend FROM member_periods WHERE ${member} AND period = ${LIFETIME_KEY}`),
    prepare(
      db,
      sql`SELECT period FROM member_periods WHERE ${member} AND orders > 0
      AND period >= ${monthKey({ year: first.getUTCFullYear(), month: first.getUTCMonth() + 1 })} AND period <= ${monthKey(today)}`,
    ),
    prepare(db, sql`SELECT perk_id AS perkId, unlocked, lapsed_at AS lapsedAt FROM member_perks WHERE ${member}`),
    prepare(
      db,
      sql`SELECT perk_id AS perkId, period, COUNT(*) AS n FROM perk_uses WHERE ${member} AND reversed_at IS NULL
      AND period IN (${monthKey(today)}, ${`y${today.year}`}) GROUP BY perk_id, period`,
    ),
  ]);
  const row = memberRows?.results[0] as { enrolledAt: number; lastOrderAt: number | null; tierId: string | null } | undefined;
  if (!row) throw notFound(`Member ${memberId}`);
  const tiers = (tierRows?.results ?? []) as { id: string }[];
  const tierRanks = new Map(tiers.map((t, i) => [t.id, i]));
  const perks = ((perkRows?.results ?? []) as PerkRow[]).map(perkFromRow);
  const counts = new Map(
    ((uses?.results ?? []) as { perkId: string; period: string; n: number }[]).map((u) => [`${u.perkId} ${u.period}`, u.n]),
  );
  return {
    perks,
    facts: {
      enrolledAt: row.enrolledAt,
      lastOrderAt: row.lastOrderAt,
      tierRank: tiers.length ? (tierRanks.get(row.tierId ?? "") ?? 0) : null,
      tierRanks,
      lifetimeSpend: (lifetime?.results[0] as { spend: number } | undefined)?.spend ?? 0,
      orderMonths: new Set(((months?.results ?? []) as { period: string }[]).map((m) => m.period.slice(1))),
    },
    states: new Map(
      ((states?.results ?? []) as { perkId: string; unlocked: number; lapsedAt: number | null }[]).map((s) => [
        s.perkId,
        { unlocked: Boolean(s.unlocked), lapsedAt: s.lapsedAt },
      ]),
    ),
    used: new Map(perks.map((p) => [p.id, counts.get(`${p.id} ${quotaPeriod(p, at, scope.merchant.timezone)}`) ?? 0])),
  };
}
