/**
 * Posting an order: evaluate the rules, then write the order, the member's lot, account and ledger entry,
 * and the stored idempotent response in one batch.
 */
import type { Context } from "hono";
import { assertEarnable, checkOrder, loadCheckoutContext, NEW_MEMBER } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import type { OrderInput } from "../earning/schemas";
import { MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { currentMerchant } from "../platform/auth";
import { now } from "../platform/clock";
import type { AppEnv } from "../platform/context";
import { guard } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { idempotentWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { commitWrite, RaceError, retryOnRace } from "../platform/write";
import { dueFor, lotAvailability, lotExpiry } from "../program/settings";

const RACE = "Another order of this member was posted at the same moment; retry with the same Idempotency-Key.";

export function postOrder(c: Context<AppEnv>, input: OrderInput): Promise<Response> {
  // A first-order rule evaluated against an order count that changed before the write: evaluate again.
  return retryOnRace(
    () => attemptOrder(c, input),
    () => c.set("prefetched", undefined),
  );
}

async function attemptOrder(c: Context<AppEnv>, input: OrderInput): Promise<Response> {
  const merchant = currentMerchant(c);
  const at = now();
  const occurredAt = checkOrder(input, merchant.currency, at);
  const ctx = await loadCheckoutContext(c, merchant.id, input.memberId, input.orderId);
  const write = idempotentWrite(c, at);
  // Posted already: by a twin request with this very key (replay it), or under another key (409).
  if (ctx.orderExists) {
    const twin = await write.recordAfterFailure();
    if (twin) return twin;
    throw orderConflict(input.orderId);
  }
  if (!ctx.member && !ctx.program.autoEnroll) throw notFound(`Member ${input.memberId}`);

  const evaluation = evaluateRules(ctx.rules, { ...input, occurredAt }, ctx.member ?? NEW_MEMBER, merchant.timezone);
  assertEarnable(evaluation.pointsEarned);

  const db = c.var.db;
  const ledger = new LedgerWriter(db, merchant.id, input.memberId, at);
  const lotId = evaluation.pointsEarned > 0 ? newId("le", at) : null;
  const statements: D1PreparedStatement[] = [];
  if (!ctx.member) {
    statements.push(
      db
        .prepare(`INSERT INTO members (merchant_id, id, enrolled_at, updated_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT DO NOTHING`)
        .bind(merchant.id, input.memberId, at),
    );
  }
  statements.push(
    db
      .prepare(
        `INSERT INTO orders (merchant_id, id, member_id, amount, currency, occurred_at, channel, items, points_earned, awards,
           lot_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)`,
      )
      .bind(
        merchant.id,
        input.orderId,
        input.memberId,
        input.amount,
        input.currency,
        occurredAt,
        input.channel ?? null,
        input.items ? JSON.stringify(input.items) : null,
        evaluation.pointsEarned,
        JSON.stringify(evaluation.awards),
        lotId,
        at,
      ),
  );
  // A firstOrder condition depends on whether this is the member's first order. Only a member with no
  // order yet can be raced (the count only grows), so only then must the write re-check it.
  const previousOrders = ctx.member?.previousOrders ?? 0;
  if (previousOrders === 0 && ctx.rules.some((rule) => rule.conditions.firstOrder !== undefined)) {
    statements.push(
      guard(
        db,
        "conflict",
        "COALESCE((SELECT order_count FROM members WHERE merchant_id = ?1 AND id = ?2), 0) <> ?3",
        merchant.id,
        input.memberId,
        previousOrders,
      ),
    );
  }
  // An order after the inactivity deadline first lets the old points expire, then resets the clock.
  if (ctx.member) ledger.settle(dueFor(ctx.member, ctx.program, merchant.timezone, at, false));
  if (lotId) {
    const { availableAt, pending } = lotAvailability(ctx.program, occurredAt, at);
    ledger.credit({
      entryId: lotId,
      type: "earn",
      points: evaluation.pointsEarned,
      pending,
      availableAt,
      expiresAt: lotExpiry(ctx.program, at, merchant.timezone),
      countsAsEarned: true,
      refs: { orderId: input.orderId, ruleId: evaluation.awards.length === 1 ? evaluation.awards[0]!.ruleId : null },
      orderAt: occurredAt,
    });
  } else {
    ledger.touchOrder(occurredAt);
  }
  statements.push(...ledger.statements);
  statements.push(
    write.finish(
      201,
      `SELECT json_object('orderId', ?1, 'memberId', ?2, 'pointsEarned', CAST(?3 AS INTEGER), 'awards', json(?4), 'member', ${MEMBER_JSON_SQL})
       FROM members m WHERE m.merchant_id = ?5 AND m.id = ?2`,
      [input.orderId, input.memberId, evaluation.pointsEarned, JSON.stringify(evaluation.awards), merchant.id],
    ),
  );
  return commitWrite(c, write, statements, 201, (failure) => {
    if (failure.kind === "unique" && failure.table === "orders") throw orderConflict(input.orderId);
    if (failure.kind === "guard" && failure.reason === "conflict") throw new RaceError(RACE);
  });
}

function orderConflict(orderId: string): ApiError {
  return new ApiError("conflict", `Order ${orderId} was already posted; an order earns once.`);
}

/** What an order would earn, writing nothing. */
export async function quoteOrder(c: Context<AppEnv>, input: OrderInput) {
  const merchant = currentMerchant(c);
  const at = now();
  const occurredAt = checkOrder(input, merchant.currency, at);
  const ctx = await loadCheckoutContext(c, merchant.id, input.memberId, input.orderId);
  if (!ctx.member && !ctx.program.autoEnroll) throw notFound(`Member ${input.memberId}`);
  const { pointsEarned, awards } = evaluateRules(
    ctx.rules,
    { ...input, occurredAt },
    ctx.member ?? NEW_MEMBER,
    merchant.timezone,
  );
  assertEarnable(pointsEarned);
  return { pointsEarned, awards };
}
