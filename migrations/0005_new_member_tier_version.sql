-- A new member starts placed under the merchant's current ladder version (in its lowest tier), so a
-- ladder change re-places only the members that existed before it: every insert site of members is
-- covered, now and later.
CREATE TRIGGER `members_tier_version_on_insert` AFTER INSERT ON `members`
WHEN EXISTS (SELECT 1 FROM `tier_ladders` WHERE `merchant_id` = NEW.`merchant_id`)
BEGIN
  UPDATE `members` SET `tier_version` = (SELECT `version` FROM `tier_ladders` WHERE `merchant_id` = NEW.`merchant_id`)
  WHERE `merchant_id` = NEW.`merchant_id` AND `id` = NEW.`id`;
END;
