-- AlterTable: which membership created its conversation (presence's "took part", see coMembersOf). A
-- constant default: no table rewrite, the exclusive lock is brief; the backfill is a migration of its own.
ALTER TABLE "conversation_members" ADD COLUMN "created_it" BOOLEAN NOT NULL DEFAULT false;
