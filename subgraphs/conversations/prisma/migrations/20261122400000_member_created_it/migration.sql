-- AlterTable: which membership created its conversation (presence's "took part", see coMembersOf)
ALTER TABLE "conversation_members" ADD COLUMN "created_it" BOOLEAN NOT NULL DEFAULT false;

-- Existing creators' memberships (a creator who left and was added back cannot be told apart here).
UPDATE "conversation_members" m SET "created_it" = true
FROM "conversations" c
WHERE c."id" = m."conversation_id" AND c."created_by_id" = m."user_id";
