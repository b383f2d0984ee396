/** Ledger invariants, read straight from D1 after every step of a randomized run. */
import { env } from "cloudflare:test";
import { expect } from "vitest";

export async function checkMemberInvariants(merchantId: string, memberId: string): Promise<void> {
  const db = env.DB;
  const [acct, entries, lots, holds] = await db.batch<any>([
    db
      .prepare(
        `SELECT balance, pending, held, credit, credit_held AS creditHeld, lifetime_redeemed AS redeemed,
           (SELECT COALESCE(-SUM(points), 0) FROM ledger_entries
            WHERE merchant_id = ?1 AND member_id = ?2 AND type = 'adjust' AND points < 0 AND asset = 'points') AS adjustedDown,
           (SELECT COALESCE(SUM(owed), 0) FROM point_lots WHERE merchant_id = ?1 AND member_id = ?2) AS owed,
           (SELECT COALESCE(SUM(points - undone), 0) FROM lot_moves WHERE move_id = 'paid:' || ?1 || ':' || ?2) AS paid
         FROM members WHERE merchant_id = ?1 AND id = ?2`,
      )
      .bind(merchantId, memberId),
    db
      .prepare(
        `SELECT COALESCE(SUM(CASE WHEN asset = 'points' THEN points END), 0) AS total, COUNT(*) AS n,
           COALESCE(SUM(CASE WHEN asset = 'credit' THEN points END), 0) AS credit,
           MIN(CASE WHEN asset = 'credit' THEN balance_after END) AS lowestCredit
         FROM ledger_entries WHERE merchant_id = ?1 AND member_id = ?2`,
      )
      .bind(merchantId, memberId),
    db
      .prepare(
        `SELECT COALESCE(SUM(CASE WHEN is_pending = 0 THEN remaining END), 0) AS spendable,
                COALESCE(SUM(CASE WHEN is_pending = 1 THEN remaining END), 0) AS pending,
                COALESCE(SUM(CASE WHEN remaining < 0 OR expired < 0 OR remaining + expired > points THEN 1 ELSE 0 END), 0) AS broken
         FROM point_lots WHERE merchant_id = ?1 AND member_id = ?2`,
      )
      .bind(merchantId, memberId),
    db
      .prepare(
        `SELECT COALESCE(SUM(CASE WHEN asset = 'points' THEN points END), 0) AS held,
           COALESCE(SUM(CASE WHEN asset = 'credit' THEN points END), 0) AS creditHeld
         FROM redemptions WHERE merchant_id = ?1 AND member_id = ?2 AND status = 'held'`,
      )
      .bind(merchantId, memberId),
  ]);
  const a = acct!.results[0];
  if (!a) return; // not enrolled yet
  const e = entries!.results[0];
  const l = lots!.results[0];
  const context = `member ${memberId}: ${JSON.stringify({ account: a, entries: e, lots: l })}`;
  expect(e.total, `sum(entries) == balance + pending; ${context}`).toBe(a.balance + a.pending);
  expect(l.pending, `pending == pending lots; ${context}`).toBe(a.pending);
  expect(l.broken, `no lot below zero, and remaining + expired never above its points; ${context}`).toBe(0);
  if (a.balance >= 0) expect(l.spendable, `balance == spendable lots; ${context}`).toBe(a.balance);
  else expect(l.spendable, `in debt, no spendable lot is left; ${context}`).toBe(0);
  expect(holds!.results[0].held, `held == open holds; ${context}`).toBe(a.held);
  // Store credit, the second asset: its own entries add up to it, it is never overdrawn, holds match.
  expect(e.credit, `sum(credit entries) == credit; ${context}`).toBe(a.credit);
  expect(a.credit, `credit never below zero; ${context}`).toBeGreaterThanOrEqual(0);
  expect(e.lowestCredit ?? 0, `no credit entry left credit below zero; ${context}`).toBeGreaterThanOrEqual(0);
  expect(holds!.results[0].creditHeld, `creditHeld == open credit holds; ${context}`).toBe(a.creditHeld);
  expect(a.held).toBeGreaterThanOrEqual(0);
  // Refund shortfalls still owed by lots are exactly the debt plus what payer lots gave and did not get back.
  expect(a.owed, `owed == debt + unreturned payments; ${context}`).toBe(Math.max(0, -a.balance) + a.paid);
  // Debt comes only from reversing points the member already spent: never more than was spent.
  expect(-a.balance, `debt never exceeds points spent; ${context}`).toBeLessThanOrEqual(a.redeemed + a.held + a.adjustedDown);
}

/** floor(p * r / a), exactly, written apart from src's refund maths so it can check it. */
function cumulativeReversal(points: number, refunded: number, amount: number, fullyRefundedZero: boolean): number {
  // An order of amount 0 is refunded once, in full (its refunded items mark it).
  if (amount === 0) return fullyRefundedZero ? points : 0;
  return Number((BigInt(points) * BigInt(refunded)) / BigInt(amount));
}

/**
 * Per order: a refund never excuses more than the order's own lot lost to expiry, and what was taken back
 * plus what was excused is exactly the proportional share of the amount refunded.
 */
export async function checkOrderInvariants(merchantId: string): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT o.id, o.amount, o.refunded_amount AS refunded, o.points_earned AS earned, o.points_reversed AS taken,
       o.expired_excused AS excused, COALESCE(l.expired, 0) AS lotExpired, o.refunded_items IS NOT NULL AS itemsRefunded
     FROM orders o LEFT JOIN point_lots l ON l.id = o.lot_id WHERE o.merchant_id = ?1`,
  )
    .bind(merchantId)
    .all<any>();
  for (const o of results) {
    const context = `order ${o.id}: ${JSON.stringify(o)}`;
    expect(o.excused, `excused only what expired; ${context}`).toBeLessThanOrEqual(o.lotExpired);
    expect(o.taken + o.excused, `taken + excused == share refunded; ${context}`).toBe(
      cumulativeReversal(o.earned, o.refunded, o.amount, Boolean(o.itemsRefunded)),
    );
  }
}

/**
 * Every stored response that carries a member's body records that member (idempotency_keys.member_id), so
 * erasing the member scrubs it: a write whose reply renders the member must say whose it is.
 */
export async function checkStoredResponses(merchantId: string): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT key, member_id AS recorded, json_extract(response, '$.member.id') AS carried FROM idempotency_keys
     WHERE merchant_id = ?1 AND json_valid(response) AND member_id IS NOT json_extract(response, '$.member.id')`,
  )
    .bind(merchantId)
    .all();
  expect(results, "stored responses whose member is not recorded with them").toEqual([]);
}

/**
 * Member activity and the tier metric: per member, the day rows add up to the orders net of their refunds,
 * the month rows and the lifetime row to the day rows, and the tier cache to the day rows from its window
 * start on.
 */
export async function checkActivityInvariants(merchantId: string): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT m.id, m.tier_window_start AS ws, m.tier_spend AS cacheSpend, m.tier_points AS cachePoints, m.tier_orders AS cacheOrders,
       (SELECT COALESCE(SUM(amount - refunded_amount), 0) FROM orders o WHERE o.merchant_id = m.merchant_id AND o.member_id = m.id) AS netSpend,
       (SELECT COALESCE(SUM(points_earned - points_reversed - expired_excused), 0) FROM orders o
         WHERE o.merchant_id = m.merchant_id AND o.member_id = m.id) AS netPoints,
       (SELECT COUNT(*) FROM orders o WHERE o.merchant_id = m.merchant_id AND o.member_id = m.id
         AND (o.refunded_amount < o.amount OR (o.amount = 0 AND o.refunded_items IS NULL))) AS liveOrders,
       (SELECT json_object('spend', COALESCE(SUM(spend), 0), 'points', COALESCE(SUM(points), 0), 'orders', COALESCE(SUM(orders), 0))
         FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id AND p.period >= 'd' AND p.period < 'd~') AS days,
       (SELECT json_object('spend', COALESCE(SUM(spend), 0), 'points', COALESCE(SUM(points), 0), 'orders', COALESCE(SUM(orders), 0))
         FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id AND p.period = 'all') AS lifetime,
       (SELECT json_object('spend', COALESCE(SUM(spend), 0), 'points', COALESCE(SUM(points), 0), 'orders', COALESCE(SUM(orders), 0))
         FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id AND p.period > 'm') AS months,
       (SELECT json_object('spend', COALESCE(SUM(spend), 0), 'points', COALESCE(SUM(points), 0), 'orders', COALESCE(SUM(orders), 0))
         FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id AND p.period >= m.tier_window_start
           AND p.period < 'd~') AS windowed
     FROM members m WHERE m.merchant_id = ?1`,
  )
    .bind(merchantId)
    .all<any>();
  for (const r of results) {
    const context = `member ${r.id}: ${JSON.stringify(r)}`;
    const days = JSON.parse(r.days);
    expect(days, `day rows == orders net of refunds; ${context}`).toEqual({
      spend: r.netSpend,
      points: r.netPoints,
      orders: r.liveOrders,
    });
    expect(JSON.parse(r.months), `month rows == day rows; ${context}`).toEqual(days);
    expect(JSON.parse(r.lifetime), `lifetime row == day rows; ${context}`).toEqual(days);
    if (r.ws !== null)
      expect(JSON.parse(r.windowed), `tier cache == day rows from its window start; ${context}`).toEqual({
        spend: r.cacheSpend,
        points: r.cachePoints,
        orders: r.cacheOrders,
      });
  }
}

/**
 * Stamp cards: per member and card, what the card holds net of debt plus what completed cards used equals
 * what the member's orders gave net of what refunds took back; debt only on an empty card; one voucher per
 * completed card of a voucher reward.
 */
export async function checkStampInvariants(merchantId: string): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT s.member_id AS memberId, s.card_id AS cardId, s.stamps, s.debt, s.completed, c.stamps AS required,
       json_extract(c.reward, '$.kind') AS reward,
       (SELECT COALESCE(SUM(json_extract(r.value, '$.given') - json_extract(r.value, '$.taken')), 0)
         FROM orders o, json_each(o.stamps) r
         WHERE o.merchant_id = s.merchant_id AND o.member_id = s.member_id AND json_extract(r.value, '$.cardId') = s.card_id) AS net,
       (SELECT COUNT(*) FROM vouchers v WHERE v.merchant_id = s.merchant_id AND v.member_id = s.member_id AND v.card_id = s.card_id) AS vouchers
     FROM member_stamps s JOIN stamp_cards c ON c.merchant_id = s.merchant_id AND c.id = s.card_id
     WHERE s.merchant_id = ?1`,
  )
    .bind(merchantId)
    .all<any>();
  for (const r of results) {
    const context = `member ${r.memberId}, card ${r.cardId}: ${JSON.stringify(r)}`;
    expect(r.stamps - r.debt + r.completed * r.required, `stamps - debt + completed x required == net given; ${context}`).toBe(
      r.net,
    );
    expect(r.stamps >= 0 && r.debt >= 0 && (r.debt === 0 || r.stamps === 0), `debt only on an empty card; ${context}`).toBe(true);
    if (r.reward === "voucher") expect(r.vouchers, `one voucher per completed card; ${context}`).toBe(r.completed);
  }
  // Per order and card: a refund never takes back more than the order gave, and an order refunded in full
  // has given every stamp back.
  const { results: records } = await env.DB.prepare(
    `SELECT o.id AS orderId, o.amount, o.refunded_amount AS refunded, o.refunded_items AS items,
       json_extract(r.value, '$.cardId') AS cardId, json_extract(r.value, '$.given') AS given,
       json_extract(r.value, '$.taken') AS taken
     FROM orders o, json_each(o.stamps) r WHERE o.merchant_id = ?1`,
  )
    .bind(merchantId)
    .all<any>();
  for (const r of records) {
    const context = `order ${r.orderId}, card ${r.cardId}: ${JSON.stringify(r)}`;
    expect(r.taken >= 0 && r.taken <= r.given, `0 <= taken <= given; ${context}`).toBe(true);
    const full = r.amount > 0 ? r.refunded === r.amount : r.items !== null;
    if (full) expect(r.taken, `a full refund takes every stamp back; ${context}`).toBe(r.given);
  }
}
