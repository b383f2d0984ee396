CREATE TABLE `rule_usage` (
	`merchant_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`member_id` text NOT NULL,
	`period` text NOT NULL,
	`points` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `rule_id`, `member_id`, `period`)
);
--> statement-breakpoint
CREATE INDEX `rule_usage_member` ON `rule_usage` (`merchant_id`,`member_id`,`period`);--> statement-breakpoint
CREATE TABLE `rule_versions` (
	`merchant_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`version` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `rule_id`, `version`)
);
--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `rule_version` integer;--> statement-breakpoint
ALTER TABLE `merchants` ADD `config_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `rule_usage` text;--> statement-breakpoint
ALTER TABLE `rules` ADD `exclusive` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `rules` ADD `limits` text;--> statement-breakpoint
ALTER TABLE `rules` ADD `version` integer DEFAULT 1 NOT NULL;