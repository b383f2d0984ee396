ALTER TABLE `idempotency_keys` ADD `member_id` text;--> statement-breakpoint
CREATE INDEX `idempotency_member` ON `idempotency_keys` (`merchant_id`,`member_id`) WHERE member_id IS NOT NULL;--> statement-breakpoint
-- Responses stored before this migration carry their member in the body: record it, so erasure finds them.
UPDATE `idempotency_keys` SET `member_id` = json_extract(`response`, '$.member.id') WHERE json_valid(`response`);
