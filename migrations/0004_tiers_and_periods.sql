CREATE TABLE `member_periods` (
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`period` text NOT NULL,
	`spend` integer DEFAULT 0 NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`orders` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`merchant_id`, `member_id`, `period`)
);
--> statement-breakpoint
CREATE INDEX `member_periods_by_period` ON `member_periods` (`merchant_id`,`period`,`member_id`);--> statement-breakpoint
CREATE TABLE `tier_history` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`from_tier` text,
	`to_tier` text NOT NULL,
	`reason` text NOT NULL,
	`detail` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tier_history_member` ON `tier_history` (`merchant_id`,`member_id`,`at`);--> statement-breakpoint
CREATE TABLE `tier_ladders` (
	`merchant_id` text PRIMARY KEY NOT NULL,
	`metric` text NOT NULL,
	`window_kind` text NOT NULL,
	`window_days` integer,
	`grace_days` integer NOT NULL,
	`downgrade_steps` integer NOT NULL,
	`upgrade_applies` integer NOT NULL,
	`version` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `job_runs` ADD `changed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_qualified_until` integer;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_manual` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_manual_until` integer;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_window_start` text;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_spend` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_points` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_orders` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `tier_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `members_tier_lapse` ON `members` (`merchant_id`,`tier_qualified_until`) WHERE tier_qualified_until IS NOT NULL;--> statement-breakpoint
CREATE INDEX `members_tier_manual_end` ON `members` (`merchant_id`,`tier_manual_until`) WHERE tier_manual_until IS NOT NULL;--> statement-breakpoint
CREATE INDEX `members_tier_version` ON `members` (`merchant_id`,`tier_version`);