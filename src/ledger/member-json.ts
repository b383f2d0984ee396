/**
 * The member body is rendered by SQL, inside the same transaction that changes the account, so the body
 * stored for idempotent replay is exactly the state that was written. GET routes use the same fragment.
 */

/** SQL expression rendering an integer-milliseconds column as ISO 8601 UTC with milliseconds. */
export function isoSql(column: string): string {
  return `(strftime('%Y-%m-%dT%H:%M:%S', ${column} / 1000, 'unixepoch') || '.' || printf('%03d', ${column} % 1000) || 'Z')`;
}

/** Same as isoSql, NULL stays NULL. */
export function isoOrNullSql(column: string): string {
  return `CASE WHEN ${column} IS NULL THEN NULL ELSE ${isoSql(column)} END`;
}

/**
 * The member's current tier: the stored one, or the ladder's lowest (threshold 0) when never placed or
 * when the stored tier left the ladder; null when the merchant has no ladder.
 */
const TIER_JSON_SQL = `COALESCE(
    (SELECT json_object('id', t.id, 'name', t.name) FROM tiers t WHERE t.merchant_id = m.merchant_id AND t.id = m.tier_id),
    (SELECT json_object('id', t.id, 'name', t.name) FROM tiers t WHERE t.merchant_id = m.merchant_id AND t.threshold = 0))`;

/** json_object(...) of a member row aliased `m`. */
export const MEMBER_JSON_SQL = `json_object(
  'id', m.id,
  'balance', m.balance,
  'pending', m.pending,
  'held', m.held,
  'credit', m.credit,
  'lifetimeEarned', m.lifetime_earned,
  'lifetimeRedeemed', m.lifetime_redeemed,
  'tier', json(${TIER_JSON_SQL}),
  'enrolledAt', ${isoSql("m.enrolled_at")},
  'lastOrderAt', ${isoOrNullSql("m.last_order_at")},
  'email', m.email,
  'name', m.name,
  'birthday', m.birthday,
  'attributes', json(m.attributes),
  'erased', json(CASE WHEN m.erased_at IS NULL THEN 'false' ELSE 'true' END)
)`;
