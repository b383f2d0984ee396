/** What a points operation on one member needs to know first: the member's clock and the program. */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { members, programs } from "../db/schema";
import type { DueHold } from "../ledger/statements";
import type { Orm } from "../platform/db";
import { notFound } from "../platform/errors";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";

/** JSON array of the member's holds past their time at `at`, for inline release (correlated to `members`). */
export function dueHoldsSql(at: number) {
  return sql<string>`(SELECT json_group_array(json_object('id', r.id, 'points', r.points, 'orderId', r.order_id, 'asset', r.asset))
    FROM redemptions r WHERE r.merchant_id = members.merchant_id AND r.member_id = members.id
      AND r.status = 'held' AND r.hold_expires_at <= ${at})`.mapWith((text: string) => JSON.parse(text) as DueHold[]);
}

/** `memberId` may be an SQL subquery (e.g. the member of an order), to read in the same round trip. */
export function memberClockQuery(orm: Orm, merchantId: string, memberId: string | SQL, at: number) {
  return orm
    .select({
      nextReleaseAt: members.nextReleaseAt,
      lastActivityAt: members.lastActivityAt,
      enrolledAt: members.enrolledAt,
      dueHolds: dueHoldsSql(at),
    })
    .from(members)
    .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId)));
}

export function programQuery(orm: Orm, merchantId: string) {
  return orm.select().from(programs).where(eq(programs.merchantId, merchantId));
}

/** The member's clock and the program settings in one round trip; 404 for an unknown member. */
export async function loadAccountContext(
  orm: Orm,
  merchantId: string,
  memberId: string,
  at: number,
): Promise<{ member: MemberClock; program: ProgramSettings }> {
  const [memberRows, programRows] = await orm.batch([
    memberClockQuery(orm, merchantId, memberId, at),
    programQuery(orm, merchantId),
  ]);
  const member = memberRows[0];
  if (!member) throw notFound(`Member ${memberId}`);
  return { member, program: programFromRow(programRows[0]) };
}
