-- AlterTable: delivery receipts, next to the read marker (one source of truth for both).
ALTER TABLE "conversation_members" ADD COLUMN "delivered_seq" INTEGER NOT NULL DEFAULT 0;
UPDATE "conversation_members" SET "delivered_seq" = "read_seq";
