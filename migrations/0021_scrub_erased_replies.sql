-- Members erased before responses recorded their member (0020) kept their personal data in the responses
-- stored for idempotent replay: scrub those as erasure now does (members/service.ts, eraseMember).
UPDATE `idempotency_keys` SET `response` = json_set(`response`, '$.member.email', NULL, '$.member.name', NULL,
  '$.member.birthday', NULL, '$.member.attributes', NULL, '$.member.erased', json('true'))
WHERE json_valid(`response`) AND `member_id` IS NOT NULL AND EXISTS (
  SELECT 1 FROM `members` m WHERE m.`merchant_id` = `idempotency_keys`.`merchant_id` AND m.`id` = `idempotency_keys`.`member_id`
    AND m.`erased_at` IS NOT NULL);
