// Baseline for the benchmark: one D1 statement per request, nothing else. Same framework (Hono),
// runtime and local D1 as the engine, so the gap between the two is the engine's own work.
import { Hono } from "hono";

const app = new Hono();

/** Adds the same cost headers as the engine does with D1_STATS=on, so both pay for them. */
function withStats(c, meta) {
  if (c.env.D1_STATS === "on" && meta) {
    c.header("x-d1-rows-read", String(meta.rows_read ?? 0));
    c.header("x-d1-rows-written", String(meta.rows_written ?? 0));
    c.header("x-d1-queries", "1");
  }
}

app.get("/health", (c) => c.json({ ok: true }));

// Body { "id": "k1", "value": 1 }: one single-row INSERT ... ON CONFLICT DO UPDATE.
app.post("/upsert", async (c) => {
  let body;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: "invalid json" }, 400);
  }
  if (typeof body?.id !== "string" || !Number.isInteger(body?.value)) {
    return c.json({ error: "id (string) and value (integer) are required" }, 400);
  }
  const res = await c.env.DB.prepare(
    "INSERT INTO counters (id, value, updated_at) VALUES (?1, ?2, ?3) " +
      "ON CONFLICT(id) DO UPDATE SET value = counters.value + excluded.value, updated_at = excluded.updated_at",
  )
    .bind(body.id, body.value, new Date().toISOString())
    .run();
  withStats(c, res.meta);
  return c.json({ id: body.id }, 201);
});

// One single-row select by primary key.
app.get("/select/:id", async (c) => {
  const res = await c.env.DB.prepare("SELECT id, value, updated_at FROM counters WHERE id = ?1").bind(c.req.param("id")).all();
  withStats(c, res.meta);
  const row = res.results[0];
  if (!row) return c.json({ error: "not found" }, 404);
  return c.json({ id: row.id, value: row.value, updatedAt: row.updated_at });
});

export default app;
