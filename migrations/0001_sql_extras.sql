-- SQL that drizzle-kit cannot express from src/db/schema.ts.

-- Assertions inside a D1 batch. A batch is one SQL transaction; inserting a row here aborts it with the
-- row's reason as the error message, so a guard such as
--   INSERT INTO batch_guards (reason) SELECT 'insufficient_points' WHERE changes() = 0
-- rolls back every write of the batch when the conditional update before it matched nothing.
-- No row is ever stored in this table.
CREATE TABLE `batch_guards` (`reason` text NOT NULL);
--> statement-breakpoint
CREATE TRIGGER `batch_guards_abort` BEFORE INSERT ON `batch_guards` BEGIN SELECT RAISE(ABORT, NEW.reason); END;
--> statement-breakpoint
-- Inactivity expiry finds members holding points by their last activity (last order, or enrolment if none).
-- Partial, so members with nothing left to expire cost the job nothing.
CREATE INDEX `members_last_activity` ON `members` (`merchant_id`, COALESCE(`last_order_at`, `enrolled_at`))
  WHERE `balance` > 0 OR `pending` > 0;
