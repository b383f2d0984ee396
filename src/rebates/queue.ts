/**
 * The durable side of rebate closes: Cloudflare Queues. A message names a close; its consumer works the
 * close forward by a bounded number of chunks and, if work is left, sends the next message. A consumer that
 * dies leaves its message unacknowledged, so the queue delivers it again; the scheduled resume re-sends a
 * message for any close that stopped moving. Every chunk is idempotent (engine.ts), so duplicates are harmless.
 */
import { now } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import { type D1Stats, meteredD1 } from "../platform/db";
import type { CloseRef } from "./close-state";
import { advanceClose, closeTuning } from "./engine";

/** A running close that has not moved for this long is sent to the queue again. */
export const STALLED_CLOSE_MS = 5 * 60_000;

const isCloseRef = (body: unknown): body is CloseRef =>
  typeof body === "object" &&
  body !== null &&
  ["merchantId", "programId", "periodKey"].every((k) => typeof (body as Record<string, unknown>)[k] === "string");

/** Queue consumer of REBATE_CLOSES. */
export async function consumeRebateCloses(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    if (!isCloseRef(message.body)) {
      message.ack(); // not ours to retry
      continue;
    }
    const ref = { merchantId: message.body.merchantId, programId: message.body.programId, periodKey: message.body.periodKey };
    // With D1_STATS on (benchmarks) each message logs the D1 rows it read and wrote.
    const stats: D1Stats | undefined = env.D1_STATS === "on" ? { rowsRead: 0, rowsWritten: 0, queries: 0 } : undefined;
    try {
      const done = await advanceClose(stats ? meteredD1(env.DB, stats) : env.DB, ref, closeTuning.queueChunks, now());
      if (!done) await env.REBATE_CLOSES.send(ref);
      if (stats) console.log(`rebate-close-stats ${JSON.stringify(stats)}`);
      message.ack();
    } catch (error) {
      console.error("rebate close chunk failed; the queue will deliver it again", error);
      message.retry();
    }
  }
}

/** Cron: re-sends closes that stopped moving (a message lost for good, retries exhausted). */
export async function resumeStalledCloses(env: Env, at = now()): Promise<number> {
  const { results } = await prepare(
    env.DB,
    sql`SELECT merchant_id AS merchantId, program_id AS programId, period_key AS periodKey FROM rebate_closes
      WHERE status = 'running' AND updated_at < ${at - STALLED_CLOSE_MS} LIMIT 100`,
  ).all<CloseRef>();
  if (results.length > 0) await env.REBATE_CLOSES.sendBatch(results.map((body) => ({ body })));
  return results.length;
}
