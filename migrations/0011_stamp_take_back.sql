ALTER TABLE `member_stamps` ADD `debt` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `stamps` text;