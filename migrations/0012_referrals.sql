CREATE TABLE `referrals` (
	`merchant_id` text NOT NULL,
	`referee_id` text NOT NULL,
	`referrer_id` text NOT NULL,
	`code` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`first_order_id` text,
	`due_at` integer,
	`referrer_points` integer,
	`referee_points` integer,
	`min_order_amount` integer,
	`paid_at` integer,
	`referrer_entry_id` text,
	`referee_entry_id` text,
	`reason` text,
	`ended_at` integer,
	PRIMARY KEY(`merchant_id`, `referee_id`)
);
--> statement-breakpoint
CREATE INDEX `referrals_due` ON `referrals` (`merchant_id`,`status`,`due_at`);--> statement-breakpoint
CREATE INDEX `referrals_pending_due` ON `referrals` (`due_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `referrals_first_order` ON `referrals` (`merchant_id`,`first_order_id`) WHERE first_order_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `referrals_referrer` ON `referrals` (`merchant_id`,`referrer_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `members` ADD `referral_code` text;--> statement-breakpoint
ALTER TABLE `members` ADD `referred_by` text;--> statement-breakpoint
CREATE UNIQUE INDEX `members_referral_code` ON `members` (`referral_code`) WHERE referral_code IS NOT NULL;--> statement-breakpoint
ALTER TABLE `programs` ADD `referral_referrer_points` integer;--> statement-breakpoint
ALTER TABLE `programs` ADD `referral_referee_points` integer;--> statement-breakpoint
ALTER TABLE `programs` ADD `referral_min_order_amount` integer;