-- Existing creators' memberships (a creator who left and was added back cannot be told apart here). Row
-- locks only, apart from the column's own migration.
UPDATE "conversation_members" m SET "created_it" = true
FROM "conversations" c
WHERE c."id" = m."conversation_id" AND c."created_by_id" = m."user_id";
