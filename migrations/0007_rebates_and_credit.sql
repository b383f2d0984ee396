CREATE TABLE `rebate_allocations` (
	`merchant_id` text NOT NULL,
	`program_id` text NOT NULL,
	`period_key` text NOT NULL,
	`member_id` text NOT NULL,
	`spend` integer NOT NULL,
	`base` integer,
	`remainder` integer,
	`amount` integer,
	`units` integer,
	`paid` integer DEFAULT 0 NOT NULL,
	`paid_at` integer,
	PRIMARY KEY(`merchant_id`, `program_id`, `period_key`, `member_id`)
);
--> statement-breakpoint
CREATE INDEX `rebate_allocations_member` ON `rebate_allocations` (`merchant_id`,`member_id`,`paid_at`) WHERE paid = 1 AND amount > 0;--> statement-breakpoint
CREATE TABLE `rebate_closes` (
	`merchant_id` text NOT NULL,
	`program_id` text NOT NULL,
	`period_key` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`status` text NOT NULL,
	`phase` text NOT NULL,
	`payout` text NOT NULL,
	`net_profit` integer NOT NULL,
	`share_bps` integer NOT NULL,
	`pool` integer NOT NULL,
	`total_net_spend` integer DEFAULT 0 NOT NULL,
	`members` integer DEFAULT 0 NOT NULL,
	`point_value_points` integer NOT NULL,
	`point_value_amount` integer NOT NULL,
	`cursor` text,
	`threshold_remainder` integer,
	`threshold_member` text,
	`processed` integer DEFAULT 0 NOT NULL,
	`paid` integer DEFAULT 0 NOT NULL,
	`points_paid` integer DEFAULT 0 NOT NULL,
	`unconverted` integer DEFAULT 0 NOT NULL,
	`note` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	PRIMARY KEY(`merchant_id`, `program_id`, `period_key`)
);
--> statement-breakpoint
CREATE INDEX `rebate_closes_running` ON `rebate_closes` (`status`,`updated_at`) WHERE status = 'running';--> statement-breakpoint
CREATE TABLE `rebate_programs` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`period` text NOT NULL,
	`share_bps` integer NOT NULL,
	`payout` text NOT NULL,
	`min_spend` integer DEFAULT 0 NOT NULL,
	`tiers` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `asset` text DEFAULT 'points' NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `credit_held` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `redemptions` ADD `asset` text DEFAULT 'points' NOT NULL;