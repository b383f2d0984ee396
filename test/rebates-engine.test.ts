/**
 * The close engine over many chunks: a close too large for its request answers 202 and the queue consumer
 * finishes it; a close interrupted midway (a batch fails) resumes and pays everyone exactly once, even with
 * several workers at it at the same time. Chunks are shrunk so that a few dozen members take many chunks.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { advanceClock, now, resetClock } from "../src/platform/clock";
import { createOrm } from "../src/platform/db";
import { allocate } from "../src/rebates/allocation";
import { advanceClose, closeTuning } from "../src/rebates/engine";
import { resumeStalledCloses, STALLED_CLOSE_MS } from "../src/rebates/queue";
import { closePeriod } from "../src/rebates/service";
import { postOrder, type TestMerchant, uid } from "./support/api";
import { merchantWith } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";
import { close, putProgram, rebateEntries, waitClosed } from "./support/rebates";

const TUNING = { ...closeTuning };
afterEach(() => {
  Object.assign(closeTuning, TUNING);
});

/** `count` members with varied spends in July 2026 (some tiny, some equal, so remainders tie). */
async function members(m: TestMerchant, count: number): Promise<Map<string, number>> {
  const spends = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = `m${String(i).padStart(3, "0")}`;
    const amount = [1, 7, 100, 100, 12_345, 3][i % 6]! + i;
    spends.set(id, amount);
    const r = await postOrder(m, { orderId: uid("o"), memberId: id, amount, occurredAt: "2026-07-10T02:00:00.000Z" });
    expect(r.status, r.text).toBe(201);
  }
  return spends;
}

/** Every member paid exactly its largest-remainder share, once, and the shares add up to the pool. */
async function expectPaidOnce(m: TestMerchant, spends: Map<string, number>, pool: number): Promise<void> {
  const expected = allocate(
    pool,
    [...spends].map(([memberId, spend]) => ({ memberId, spend })),
  );
  const entries = await rebateEntries(m.id);
  const byMember = new Map(entries.map((e) => [e.memberId, e.points]));
  expect(entries.length, "one rebate entry per member paid").toBe(byMember.size);
  for (const a of expected) expect(byMember.get(a.memberId) ?? 0, a.memberId).toBe(a.amount);
  expect(entries.reduce((sum, e) => sum + e.points, 0)).toBe(pool);
  for (const id of spends.keys()) await checkMemberInvariants(m.id, id);
}

/** A D1 binding whose `failAt`-th batch gets a failing statement in the middle, so D1 rolls it back. */
function failingD1(db: D1Database, failAt: number) {
  let batches = 0;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          batches += 1;
          if (batches !== failAt) return target.batch(statements);
          const poisoned = [...statements];
          poisoned.splice(
            Math.ceil(statements.length / 2),
            0,
            target.prepare(`INSERT INTO batch_guards (reason) VALUES ('injected_fault')`),
          );
          return target.batch(poisoned);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The request scope a close route would build, so a test can start a close without handing it to the queue. */
async function scopeOf(m: TestMerchant, key: string) {
  const merchant = await env.DB.prepare("SELECT id, name, currency, timezone FROM merchants WHERE id = ?")
    .bind(m.id)
    .first<{ id: string; name: string; currency: string; timezone: string }>();
  if (!merchant) throw new Error("no merchant");
  const idempotency = { merchantId: m.id, key, requestHash: "h", stored: false };
  return { db: env.DB, orm: createOrm(env.DB), merchant, at: now(), idempotency };
}

describe("rebate close engine", () => {
  it("a close too large for its request answers 202 running; the queue consumer finishes it", async () => {
    Object.assign(closeTuning, { chunkMembers: 3, inlineChunks: 2, queueChunks: 4 });
    const m = await merchantWith({});
    const spends = await members(m, 25);
    expect((await putProgram(m, "big", { name: "big", period: "month", shareBps: 2_500, payout: "credit" })).status).toBe(201);
    const started = await close(m, "big", "2026-07", 1_234_567);
    expect(started.status, started.text).toBe(202);
    expect(started.body).toMatchObject({ status: "running", pool: 308_641, members: 25, total: 25 });
    expect(started.body.processed).toBeLessThan(25);
    const done = await waitClosed(m, "big", "2026-07");
    expect(done.body).toMatchObject({ status: "closed", processed: 25, total: 25, paid: 308_641 });
    await expectPaidOnce(m, spends, 308_641);
  }, 60_000);

  it("an interrupted close resumes where it stopped, and parallel workers pay everyone exactly once", async () => {
    Object.assign(closeTuning, { chunkMembers: 4, inlineChunks: 0 });
    const m = await merchantWith({});
    const spends = await members(m, 30);
    expect((await putProgram(m, "cut", { name: "cut", period: "month", shareBps: 1_000, payout: "points" })).status).toBe(201);
    const enqueue = vi.fn(async () => {});
    const started = await closePeriod(await scopeOf(m, "cut-key"), "cut", "2026-07", 10_000_000, enqueue);
    expect(started.done).toBe(false);
    expect(enqueue).toHaveBeenCalledOnce();
    const ref = { merchantId: m.id, programId: "cut", periodKey: "2026-07" };
    // Rank takes 8 chunks + 1 to find the threshold; the 12th batch (a pay chunk) fails midway.
    await expect(advanceClose(failingD1(env.DB, 12), ref, 100)).rejects.toThrow();
    const partial = await rebateEntries(m.id);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(30);
    // Three workers resume at once (the request retried, the queue, the scheduled resume).
    const results = await Promise.all([1, 2, 3].map(() => advanceClose(env.DB, ref, 100)));
    expect(results).toEqual([true, true, true]);
    // Points payout at 100 points per 1.00: one point per minor unit, so points == money.
    await expectPaidOnce(m, spends, 1_000_000);
  }, 60_000);

  it("the scheduled resume re-sends a close that stopped moving, and the queue consumer finishes it", async () => {
    Object.assign(closeTuning, { chunkMembers: 5, inlineChunks: 0 });
    const m = await merchantWith({});
    const spends = await members(m, 12);
    expect((await putProgram(m, "stall", { name: "stall", period: "month", shareBps: 5_000, payout: "credit" })).status).toBe(
      201,
    );
    // Started, but its queue message was lost: nothing moves it.
    const started = await closePeriod(await scopeOf(m, "stall-key"), "stall", "2026-07", 99_999, async () => {});
    expect(started.report).toMatchObject({ status: "running", processed: 0 });
    try {
      expect(await resumeStalledCloses(env)).toBe(0); // not stalled yet
      advanceClock(STALLED_CLOSE_MS + 1_000);
      expect(await resumeStalledCloses(env)).toBe(1);
      const done = await waitClosed(m, "stall", "2026-07");
      expect(done.body).toMatchObject({ status: "closed", processed: 12, paid: 49_999 });
    } finally {
      resetClock();
    }
    await expectPaidOnce(m, spends, 49_999);
  }, 60_000);
});
