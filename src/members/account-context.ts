/** What a points operation on one member needs to know first: the member's clock and the program. */
import { and, eq, type SQL } from "drizzle-orm";
import { members, programs } from "../db/schema";
import type { Orm } from "../platform/db";
import { notFound } from "../platform/errors";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";

/** `memberId` may be an SQL subquery (e.g. the member of an order), to read in the same round trip. */
export function memberClockQuery(orm: Orm, merchantId: string, memberId: string | SQL) {
  return orm
    .select({ nextReleaseAt: members.nextReleaseAt, lastOrderAt: members.lastOrderAt, enrolledAt: members.enrolledAt })
    .from(members)
    .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId)));
}

export function programQuery(orm: Orm, merchantId: string) {
  return orm.select().from(programs).where(eq(programs.merchantId, merchantId));
}

/** The member's clock and the program settings in one round trip; 404 for an unknown member. */
export async function loadAccountContext(orm: Orm, merchantId: string, memberId: string): Promise<{ member: MemberClock; program: ProgramSettings }> {
  const [memberRows, programRows] = await orm.batch([memberClockQuery(orm, merchantId, memberId), programQuery(orm, merchantId)]);
  const member = memberRows[0];
  if (!member) throw notFound(`Member ${memberId}`);
  return { member, program: programFromRow(programRows[0]) };
}
