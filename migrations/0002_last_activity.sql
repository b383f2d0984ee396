ALTER TABLE `members` ADD `last_activity_at` integer;--> statement-breakpoint
CREATE INDEX `redemptions_member_holds` ON `redemptions` (`merchant_id`,`member_id`,`hold_expires_at`) WHERE status = 'held';--> statement-breakpoint
-- Backfill: the latest order, credit or spend as posted; enrolment when there was none.
UPDATE `members` SET `last_activity_at` = MAX(
  COALESCE((SELECT MAX(`created_at`) FROM `orders` o WHERE o.`merchant_id` = `members`.`merchant_id` AND o.`member_id` = `members`.`id`), 0),
  COALESCE((SELECT MAX(`created_at`) FROM `ledger_entries` e WHERE e.`merchant_id` = `members`.`merchant_id` AND e.`member_id` = `members`.`id`
            AND e.`type` IN ('earn', 'adjust', 'bonus', 'rebate', 'redeem', 'hold')), 0),
  `enrolled_at`);
--> statement-breakpoint
-- Inactivity expiry finds members holding points by their last activity as posted (enrolment if none).
-- Partial, so members with nothing left to expire cost the job nothing.
DROP INDEX `members_last_activity`;
--> statement-breakpoint
CREATE INDEX `members_last_activity` ON `members` (`merchant_id`, COALESCE(`last_activity_at`, `enrolled_at`))
  WHERE `balance` > 0 OR `pending` > 0;
