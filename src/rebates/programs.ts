/** Rebate program rows: stored, read, rendered. */
import { and, asc, eq, gt } from "drizzle-orm";
import { rebatePrograms, tiers } from "../db/schema";
import { toIso } from "../platform/clock";
import type { Orm } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { PERIOD_KEY_EXAMPLE, type PeriodRange, parsePeriodKey } from "./periods";
import type { RebateProgramInput } from "./schemas";

export type ProgramRow = typeof rebatePrograms.$inferSelect;

export function programBody(row: ProgramRow) {
  return {
    id: row.id,
    name: row.name,
    period: row.period,
    shareBps: row.shareBps,
    payout: row.payout,
    minSpend: row.minSpend,
    tiers: row.tiers === null ? null : (JSON.parse(row.tiers) as string[]),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

export async function loadProgram(orm: Orm, merchantId: string, programId: string): Promise<ProgramRow> {
  const row = await orm.query.rebatePrograms.findFirst({
    where: and(eq(rebatePrograms.merchantId, merchantId), eq(rebatePrograms.id, programId)),
  });
  if (!row) throw notFound(`Rebate program ${programId}`);
  return row;
}

/** Tiers a program names must exist in the merchant's ladder (422 naming each unknown one). */
async function checkTiers(orm: Orm, merchantId: string, wanted: readonly string[]): Promise<void> {
  const known = new Set(
    (await orm.select({ id: tiers.id }).from(tiers).where(eq(tiers.merchantId, merchantId))).map((t) => t.id),
  );
  const errors = wanted.flatMap((id, i) =>
    known.has(id) ? [] : [{ path: `tiers.${i}`, message: `no tier ${id} in the ladder` }],
  );
  if (errors.length > 0)
    throw new ApiError("unprocessable", "The program names tiers the merchant's ladder does not have.", errors);
}

/** Creates or replaces a program; closes already started keep the terms they froze. */
export async function putProgram(scope: RequestScope, programId: string, input: RebateProgramInput) {
  const { orm, merchant, at } = scope;
  if (input.tiers) await checkTiers(orm, merchant.id, input.tiers);
  const existed = await orm.query.rebatePrograms.findFirst({
    columns: { id: true },
    where: and(eq(rebatePrograms.merchantId, merchant.id), eq(rebatePrograms.id, programId)),
  });
  const values = {
    name: input.name,
    period: input.period,
    shareBps: input.shareBps,
    payout: input.payout,
    minSpend: input.minSpend ?? 0,
    tiers: input.tiers ? JSON.stringify([...new Set(input.tiers)]) : null,
    updatedAt: at,
  };
  const [row] = await orm
    .insert(rebatePrograms)
    .values({ merchantId: merchant.id, id: programId, createdAt: at, ...values })
    .onConflictDoUpdate({ target: [rebatePrograms.merchantId, rebatePrograms.id], set: values })
    .returning();
  if (!row) throw new Error("program upsert returned no row");
  return { created: existed === undefined, body: programBody(row) };
}

export async function listPrograms(scope: RequestScope, limit: number, cursor?: string) {
  const after = cursor ? decodeCursor(cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(rebatePrograms)
    .where(and(eq(rebatePrograms.merchantId, scope.merchant.id), after !== undefined ? gt(rebatePrograms.id, after) : undefined))
    .orderBy(asc(rebatePrograms.id))
    .limit(limit + 1);
  const result = page(rows, limit, (last) => last.id);
  return { data: result.data.map(programBody), nextCursor: result.nextCursor };
}

/** The period a key names, which must be of the program's kind (422 naming periodKey otherwise). */
export function programPeriod(program: ProgramRow, periodKey: string): PeriodRange {
  const range = parsePeriodKey(periodKey);
  if (!range)
    throw new ApiError("invalid_request", "The period key is malformed.", [
      { path: "periodKey", message: "is not a period key" },
    ]);
  if (range.kind !== program.period)
    throw new ApiError(
      "unprocessable",
      `Program ${program.id} shares by ${program.period}: use a key such as ${PERIOD_KEY_EXAMPLE[program.period]}.`,
      [{ path: "periodKey", message: `must name a ${program.period} (e.g. ${PERIOD_KEY_EXAMPLE[program.period]})` }],
    );
  return range;
}
