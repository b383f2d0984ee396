/**
 * Posting an order. Read, plan, write: one round trip reads the checkout context (piggy-backed on
 * authentication when prefetched), a pure plan decides what the order earns (order-plan.ts), and one batch
 * writes the order, the member's lot, account and ledger entry, and the stored idempotent response.
 */
import { activitySql } from "../activity/statements";
import { type CheckoutContext, checkOrder, loadCheckoutContext } from "../earning/checkout-context";
import { holdPendingSql, paidSql } from "../earning/checkout-read";
import { type SideOptions, snapshotAfter, speculationStaleSql } from "../earning/member-snapshot";
import type { OrderInput } from "../earning/schemas";
import { serializeStampRecords } from "../earning/stamp-take-back";
import { MEMBER_JSON_SQL, memberJsonWithTier } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { now } from "../platform/clock";
import { GUARD, type GuardCheck, guardReasonSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { ApiError } from "../platform/errors";
import { IdempotentWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import type { RequestScope } from "../platform/scope";
import { commitWrite, RaceError, retryOnRace } from "../platform/write";
import { qualifySql } from "../referrals/qualify";
import { type Ladder, tierAt, windowStartKey } from "../tiers/ladder";
import { knownTierSetSql, slideSql, upgradeSql } from "../tiers/order-statements";
import { limitStatements } from "./limit-statements";
import { evaluateOrder, type OrderPlan, planOrder } from "./order-plan";
import { stampStatements } from "./stamp-statements";

const RACE =
  "Another request changed what this order depends on (a rule or setting, the member's first order, a rule's budget or per-member limit, " +
  "a redemption linked to this order) at the same moment; retry with the same Idempotency-Key.";

export function postOrder(scope: RequestScope, input: OrderInput): Promise<Response> {
  let attempt = scope;
  // A first-order rule evaluated against an order count that changed before the write: evaluate again,
  // from fresh reads (not those prefetched for the first attempt) at a new instant.
  return retryOnRace(
    () => attemptOrder(attempt, input),
    () => {
      const { prefetched: _stale, ...rest } = attempt;
      attempt = { ...rest, at: now() };
    },
  );
}

async function attemptOrder(scope: RequestScope, input: OrderInput): Promise<Response> {
  const { merchant, at } = scope;
  const occurredAt = checkOrder(input, merchant.currency, at);
  const ctx = await freshTierCache(scope, input, await loadCheckoutContext(scope, input));
  const write = new IdempotentWrite(scope.db, scope.idempotency, at);
  // Posted already: by a twin request with this very key (replay it), or under another key (409).
  if (ctx.orderExists) {
    const twin = await write.recordAfterFailure();
    if (twin) return twin;
    throw orderConflict(input.orderId);
  }
  const paid = ctx.program.earnOnPointsPaid ? null : ctx.paidWithPoints;
  if (paid !== null && ctx.holdPending) throw holdPending(input.orderId);
  const plan = planOrder(input, occurredAt, ctx, merchant.timezone, at);
  // The member side after the order, kept for the member's next order (member-snapshot.ts); stamps only
  // when a card is active.
  const side = { stamps: ctx.stampCards.length > 0 };
  const snapshot = ctx.ruleSet.limited ? undefined : snapshotAfter(merchant.id, input.memberId, side);
  const statements = orderStatements(scope, write, {
    input,
    occurredAt,
    plan,
    ladder: ctx.ladder,
    also: snapshot?.columns,
    checks: speculationChecks(scope, input, ctx, side),
    verified: ctx.speculation !== undefined,
    paid,
    configVersion: ctx.configVersion,
  });
  return commitWrite(
    scope.db,
    write,
    statements,
    201,
    (failure) => {
      if (failure.kind === "unique" && failure.table === "orders") throw orderConflict(input.orderId);
      // A raced first order or limit, or a stale snapshot (speculation): planned again from a read.
      if (failure.kind === "guard" && (failure.reason === GUARD.conflict || failure.reason === GUARD.stale))
        throw new RaceError(RACE);
    },
    snapshot?.keep,
  );
}

/**
 * Checked first: a key authenticated from the isolate's cache must still be active (else 401), and an order
 * planned from the member's snapshot must find it unchanged (else it is planned again from a read).
 */
function speculationChecks(scope: RequestScope, input: OrderInput, ctx: CheckoutContext, side: SideOptions): GuardCheck[] {
  const checks: GuardCheck[] = [];
  if (scope.keyRevoked) checks.push([GUARD.keyRevoked, scope.keyRevoked]);
  if (ctx.speculation)
    checks.push([
      GUARD.stale,
      speculationStaleSql(scope.merchant.id, input.memberId, input.orderId, ctx.speculation, scope.at, side),
    ]);
  return checks;
}

/**
 * When the order may earn at the tier it reaches (upgradeAppliesToQualifyingOrder), the plan needs the
 * member's metric over today's window. A cache last moved on an earlier day is slid first (a write that
 * changes no balance and may run any time) and the context read again: one more round trip, only for
 * such ladders and a member's first order of a new window day.
 */
async function freshTierCache(scope: RequestScope, input: OrderInput, ctx: CheckoutContext): Promise<CheckoutContext> {
  const { ladder, member } = ctx;
  if (!ladder?.upgradeAppliesToQualifyingOrder || !member || ctx.orderExists) return ctx;
  const startKey = windowStartKey(ladder, scope.at, scope.merchant.timezone);
  if (member.tierWindowStart === startKey) return ctx;
  await prepare(scope.db, slideSql({ merchantId: scope.merchant.id, memberId: input.memberId, startKey })).run();
  const { prefetched: _stale, ...fresh } = scope;
  return loadCheckoutContext(fresh, input);
}

/**
 * The write batch: enrol, record the order (its insert makes the `checks` and re-checks a raced first order,
 * before anything of the member moves), settle, credit, store the reply.
 * `verified`: the checks include the speculation's, which finds the member row (order count, tier and its
 * metric cache included) exactly as planned, so the later guards on those columns are left out.
 * `paid`: what points paid of the order as planned (null when the program lets that part earn too); a
 * redemption linked to the order meanwhile (captured or held) makes the batch fail as a race.
 */
function orderStatements(
  scope: RequestScope,
  write: IdempotentWrite,
  order: {
    input: OrderInput;
    occurredAt: number;
    plan: OrderPlan;
    ladder: Ladder | null;
    also: Sql | undefined;
    checks: GuardCheck[];
    verified: boolean;
    paid: number | null;
    configVersion: number;
  },
): D1PreparedStatement[] {
  const { db, at } = scope;
  const { input, occurredAt, plan, ladder, verified } = order;
  const merchantId = scope.merchant.id;
  const lotId = plan.lot ? newId("le", at) : null;
  const statements: D1PreparedStatement[] = [];
  const checks = verified
    ? order.checks
    : [...order.checks, ...readPathChecks(merchantId, input, plan, { paid: order.paid, configVersion: order.configVersion }, at)];
  if (plan.enrol) statements.push(prepare(db, enrolSql(merchantId, input.memberId, at)));
  const pointsPaid = Math.min(order.paid ?? 0, input.amount);
  statements.push(prepare(db, orderRowSql(merchantId, input, occurredAt, plan, pointsPaid, lotId, at, guardReasonSql(checks))));
  statements.push(...limitStatements(merchantId, input.memberId, plan.limitUses).map((s) => prepare(db, s)));
  const activity = { spend: input.amount, points: plan.pointsEarned, orders: 1 };
  const tier =
    plan.tier && ladder
      ? {
          ladder,
          merchantId,
          memberId: input.memberId,
          orderId: input.orderId,
          at,
          timezone: scope.merchant.timezone,
          delta: activity,
          verified,
          ...plan.tier,
        }
      : null;
  // A verified order that moves no one sets its tier columns in the ledger's member update.
  const tierSet = tier ? knownTierSetSql(tier) : null;
  // Verified, the member's debt flag is as planned too: a member owing nothing needs no payer record.
  const memberSide = { tierSet: tierSet ?? undefined, debtFree: verified && plan.debtFree };
  statements.push(...ledgerStatements(scope, input, occurredAt, plan, lotId, memberSide));
  // The referee's first order qualifies its referral (only then: other orders carry no such statement).
  if (plan.referral)
    statements.push(
      prepare(db, qualifySql({ merchantId, refereeId: input.memberId, orderId: input.orderId, at, ...plan.referral })),
    );
  // A slide is a no-op when the read saw the cache at today's window (it only ever moves to today's).
  if (tier?.slide) statements.push(prepare(db, slideSql(tier)));
  for (const upsert of activitySql(merchantId, input.memberId, occurredAt, scope.merchant.timezone, activity))
    statements.push(prepare(db, upsert));
  if (tier && !tierSet) statements.push(...upgradeSql(tier).map((statement) => prepare(db, statement)));
  // With its tier columns known, so is the tier the reply shows.
  const memberJson = tier && tierSet ? memberJsonWithTier(tierAt(tier.ladder, tier.currentRank)) : sql.raw(MEMBER_JSON_SQL);
  statements.push(replyStatement(write, merchantId, input, plan, memberJson, order.also));
  return statements;
}

/**
 * An order planned from a read (not verified by a speculation, whose checks cover these): a rule, the program
 * or the ladder changed since the read moves the configuration version, a raced first order moves the order
 * count, and a redemption linked to the order meanwhile (captured or held) moves what points paid of it. Any
 * of them fails the batch as a race, and the order is planned again from a fresh read.
 */
function readPathChecks(
  merchantId: string,
  input: OrderInput,
  plan: OrderPlan,
  read: { paid: number | null; configVersion: number },
  at: number,
): GuardCheck[] {
  const { paid } = read;
  const m = sql`${merchantId}`;
  const checks: GuardCheck[] = [
    [GUARD.conflict, sql`(SELECT config_version FROM merchants WHERE id = ${m}) IS NOT ${read.configVersion}`],
  ];
  if (plan.expectedOrderCount !== null)
    checks.push([
      GUARD.conflict,
      sql`COALESCE((SELECT order_count FROM members WHERE merchant_id = ${m} AND id = ${input.memberId}), 0) <> ${plan.expectedOrderCount}`,
    ]);
  if (paid !== null)
    checks.push([
      GUARD.conflict,
      sql`${paidSql(m, input.memberId, input.orderId)} <> ${paid} OR ${holdPendingSql(m, input.memberId, input.orderId, at)}`,
    ]);
  return checks;
}

/** Enrols the member the order names (autoEnroll); a member enrolled meanwhile is kept as it is. */
function enrolSql(merchantId: string, memberId: string, at: number): Sql {
  return sql`INSERT INTO members (merchant_id, id, enrolled_at, updated_at)
    VALUES (${merchantId}, ${memberId}, ${at}, ${at}) ON CONFLICT DO NOTHING`;
}

/** The batch's last statement: stores the reply (and returns it, with the columns `also` adds). */
function replyStatement(
  write: IdempotentWrite,
  merchantId: string,
  input: OrderInput,
  plan: OrderPlan,
  memberJson: Sql,
  also: Sql | undefined,
): D1PreparedStatement {
  return write.finishSql(
    201,
    sql`SELECT json_object('orderId', ${input.orderId}, 'memberId', ${input.memberId}, 'pointsEarned', ${plan.pointsEarned},
        'awards', json(${JSON.stringify(plan.awards)}), 'skipped', json(${JSON.stringify(plan.skipped)}), 'member', ${memberJson})
      FROM members m WHERE m.merchant_id = ${merchantId} AND m.id = ${input.memberId}`,
    { member: input.memberId, also },
  );
}

/**
 * The order row, with each rule's award (and version), what the awards consumed of rule limits, and its
 * stamps. `guard` is the reason of the first check that fails, or NULL; a reason aborts the batch (orders_guard).
 */
function orderRowSql(
  merchantId: string,
  input: OrderInput,
  occurredAt: number,
  plan: OrderPlan,
  pointsPaid: number,
  lotId: string | null,
  at: number,
  guard: Sql,
) {
  return sql`INSERT INTO orders (merchant_id, id, member_id, amount, currency, occurred_at, channel, items, points_earned,
      points_paid, awards, rule_usage, stamps, lot_id, created_at, guard)
    VALUES (${merchantId}, ${input.orderId}, ${input.memberId}, ${input.amount}, ${input.currency}, ${occurredAt},
      ${input.channel ?? null}, ${input.items ? JSON.stringify(input.items) : null}, ${plan.pointsEarned}, ${pointsPaid},
      ${JSON.stringify(plan.awards)}, ${plan.limitUses.length ? JSON.stringify(plan.limitUses) : null},
      ${serializeStampRecords(plan.stamps.map((step) => step.record))}, ${lotId}, ${at}, ${guard})`;
}

/**
 * The member's side: settle what is due, then credit the lot (or count an order that earned nothing). The
 * member update also carries `tierSet` when the order's tier columns are known (knownTierSetSql); `debtFree`
 * when the batch has verified the member owes nothing (see LedgerWriter.credit).
 */
function ledgerStatements(
  scope: RequestScope,
  input: OrderInput,
  occurredAt: number,
  plan: OrderPlan,
  lotId: string | null,
  member: { tierSet: Sql | undefined; debtFree: boolean },
): D1PreparedStatement[] {
  const ledger = new LedgerWriter(scope.db, scope.merchant.id, input.memberId, scope.at);
  if (plan.due) ledger.settle(plan.due);
  if (plan.lot && lotId) {
    ledger.credit({
      entryId: lotId,
      type: "earn",
      points: plan.lot.points,
      pending: plan.lot.pending,
      availableAt: plan.lot.availableAt,
      expiresAt: plan.lot.expiresAt,
      countsAsEarned: true,
      refs: { orderId: input.orderId, ruleId: plan.lot.ruleId, ruleVersion: plan.lot.ruleVersion },
      orderAt: occurredAt,
      memberSet: member.tierSet,
      debtFree: member.debtFree,
    });
  } else {
    ledger.touchOrder(occurredAt, member.tierSet);
  }
  const order = { merchantId: scope.merchant.id, memberId: input.memberId, orderId: input.orderId, at: scope.at };
  const stamps = stampStatements(order, plan.stamps, ledger, plan.rewardLot);
  return [...ledger.statements, ...stamps.map((statement) => prepare(scope.db, statement))];
}

/** Points are held for the order: what they will pay of it (and so what it earns) is not known yet. */
function holdPending(orderId: string): ApiError {
  return new ApiError(
    "conflict",
    `Points are held for order ${orderId} (a redemption with this orderId, neither captured nor cancelled). ` +
      "Capture or cancel the hold first: the order earns only on the part paid with money.",
    [{ path: "orderId", message: "has a hold of points pending" }],
  );
}

function orderConflict(orderId: string): ApiError {
  return new ApiError("conflict", `Order ${orderId} was already posted; an order earns once.`);
}

/** What an order would earn, writing nothing. */
export async function quoteOrder(scope: RequestScope, input: OrderInput) {
  const occurredAt = checkOrder(input, scope.merchant.currency, scope.at);
  const ctx = await loadCheckoutContext(scope, input);
  const { pointsEarned, awards, skipped } = evaluateOrder(input, occurredAt, ctx, scope.merchant.timezone, scope.at);
  return { pointsEarned, awards, skipped };
}
