-- A member's points (balance + pending) and lifetime earned never pass MAX_TOTAL (9007199254740991, the
-- largest integer JavaScript keeps exactly; platform/assert.ts). Checked on the row itself, by every update
-- that moves those columns, so a credit needs no guard statement of its own. The message is a batch-guard
-- reason (platform/d1/guard.ts), read back the same way. AFTER, not BEFORE: aborting undoes the update all
-- the same, and a BEFORE trigger makes SQLite read every updated row twice.
CREATE TRIGGER `members_total_limit` AFTER UPDATE OF `balance`, `pending`, `lifetime_earned` ON `members`
WHEN NEW.`balance` + NEW.`pending` > 9007199254740991 OR NEW.`lifetime_earned` > 9007199254740991
BEGIN
  SELECT RAISE(ABORT, 'total_limit');
END;
