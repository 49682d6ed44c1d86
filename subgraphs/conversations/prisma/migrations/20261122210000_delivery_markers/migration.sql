-- AlterTable: delivery receipts, next to the read marker (one source of truth for both), and the markers
-- members asked for past the last message known then (applied as messages become known).
ALTER TABLE "conversation_members"
  ADD COLUMN "delivered_seq" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "read_requested_seq" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "delivered_requested_seq" INTEGER NOT NULL DEFAULT 0;
UPDATE "conversation_members" SET "delivered_seq" = "read_seq";

-- CreateIndex (not expressible in schema.prisma): only members with a marker still to apply, so each
-- message costs a look at those, not at every member of the group.
CREATE INDEX "conversation_members_pending_markers_idx" ON "conversation_members" ("conversation_id")
  WHERE "read_requested_seq" > "read_seq" OR "delivered_requested_seq" > "delivered_seq";
