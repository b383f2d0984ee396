-- Points on hold come back to the balance when the hold is released or cancelled, and a release must
-- always be possible: balance + pending + held (not only balance + pending) never passes MAX_TOTAL
-- (9007199254740991; platform/assert.ts). Replaces the trigger of 0013, which let a member with points on
-- hold be credited up to the limit, after which the hold could never be given back.
DROP TRIGGER `members_total_limit`;
--> statement-breakpoint
CREATE TRIGGER `members_total_limit` AFTER UPDATE OF `balance`, `pending`, `held`, `lifetime_earned` ON `members`
WHEN NEW.`balance` + NEW.`pending` + NEW.`held` > 9007199254740991 OR NEW.`lifetime_earned` > 9007199254740991
BEGIN
  SELECT RAISE(ABORT, 'total_limit');
END;
