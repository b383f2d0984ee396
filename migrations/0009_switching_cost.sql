ALTER TABLE `members` ADD `switching_cost` integer;--> statement-breakpoint
ALTER TABLE `members` ADD `switching_cost_at` integer;--> statement-breakpoint
CREATE INDEX `members_switching_cost` ON `members` (`merchant_id`,`switching_cost`) WHERE switching_cost IS NOT NULL;--> statement-breakpoint
-- The switching-cost job values members never valued first, then those valued longest ago.
CREATE INDEX `members_switching_cost_due` ON `members` (`merchant_id`, COALESCE(`switching_cost_at`, 0));
