CREATE TABLE `member_perks` (
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`perk_id` text NOT NULL,
	`unlocked` integer NOT NULL,
	`lapsed_at` integer,
	`changed_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `member_id`, `perk_id`)
);
--> statement-breakpoint
CREATE INDEX `member_perks_unlocked` ON `member_perks` (`merchant_id`,`perk_id`) WHERE unlocked = 1;--> statement-breakpoint
CREATE TABLE `perk_events` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`perk_id` text NOT NULL,
	`kind` text NOT NULL,
	`reason` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `perk_events_member` ON `perk_events` (`merchant_id`,`member_id`,`at`);--> statement-breakpoint
CREATE TABLE `perk_uses` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`perk_id` text NOT NULL,
	`period` text,
	`created_at` integer NOT NULL,
	`reversed_at` integer,
	`reverse_reason` text
);
--> statement-breakpoint
CREATE INDEX `perk_uses_member` ON `perk_uses` (`merchant_id`,`member_id`,`perk_id`,`period`);--> statement-breakpoint
CREATE TABLE `perks` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`value` integer NOT NULL,
	`unlock` text NOT NULL,
	`quota_uses` integer,
	`quota_per` text,
	`lapse_after_days` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
