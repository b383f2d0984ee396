-- One table, one row per key: the cheapest write (upsert) and read (select by primary key).
CREATE TABLE counters (
  id TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
