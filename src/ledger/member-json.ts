import { type Sql, sql } from "../platform/d1/sql";

/**
 * The member body is rendered by SQL, inside the same transaction that changes the account, so the body
 * stored for idempotent replay is exactly the state that was written. GET routes use the same fragment.
 */

/**
 * SQL expression rendering an integer-milliseconds column as ISO 8601 UTC with milliseconds (NULL stays NULL).
 * `%f` prints seconds with three decimals; the day number SQLite keeps is in whole milliseconds, so every
 * integer input renders exactly.
 */
export function isoSql(column: string): string {
  return `strftime('%Y-%m-%dT%H:%M:%fZ', ${column} / 1000.0, 'unixepoch')`;
}

/**
 * The member's current tier: the stored one, or the ladder's lowest (threshold 0) when never placed or
 * when the stored tier left the ladder; null when the merchant has no ladder.
 */
const TIER_JSON_SQL = `COALESCE(
    (SELECT json_object('id', t.id, 'name', t.name) FROM tiers t WHERE t.merchant_id = m.merchant_id AND t.id = m.tier_id),
    (SELECT json_object('id', t.id, 'name', t.name) FROM tiers t WHERE t.merchant_id = m.merchant_id AND t.threshold = 0))`;

/** json_object(...) of a member row aliased `m`, its tier rendered by the SQL expression `tier`. */
function memberJson(tier: string): string {
  return `json_object(
  'id', m.id,
  'balance', m.balance,
  'pending', m.pending,
  'held', m.held,
  'credit', m.credit,
  'lifetimeEarned', m.lifetime_earned,
  'lifetimeRedeemed', m.lifetime_redeemed,
  'tier', json(${tier}),
  'enrolledAt', ${isoSql("m.enrolled_at")},
  'lastOrderAt', ${isoSql("m.last_order_at")},
  'email', m.email,
  'name', m.name,
  'birthday', m.birthday,
  'attributes', json(m.attributes),
  'erased', json(CASE WHEN m.erased_at IS NULL THEN 'false' ELSE 'true' END)
)`;
}

/** json_object(...) of a member row aliased `m`. */
export const MEMBER_JSON_SQL = memberJson(TIER_JSON_SQL);

const [BEFORE_TIER, AFTER_TIER] = memberJson("\u0000").split("\u0000") as [string, string];

/**
 * MEMBER_JSON_SQL with the member's tier given as JSON text ({"id","name"}), for a write that knows the tier
 * it leaves the member in: two subqueries fewer to compile in the batch.
 */
export function memberJsonWithTier(tier: { id: string; name: string }): Sql {
  return sql`${sql.raw(BEFORE_TIER)}${JSON.stringify({ id: tier.id, name: tier.name })}${sql.raw(AFTER_TIER)}`;
}
