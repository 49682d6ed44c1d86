-- Where each file was sent (pending: before its message is stored; confirmed: by messages.added; deleted: by
-- messages.deleted), so files answers who may see a file and whether it is in use without asking messages.
-- Files sent before this migration have no rows (no backfill across the services' databases).
CREATE TABLE "file_shares" (
    "id" BIGSERIAL NOT NULL,
    "file_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "message_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "file_shares_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "file_shares_file_id_message_id_key" ON "file_shares"("file_id", "message_id");

-- CreateIndex
CREATE INDEX "file_shares_message_id_created_at_idx" ON "file_shares"("message_id", "created_at");

-- CreateIndex
CREATE INDEX "file_shares_deleted_at_idx" ON "file_shares"("deleted_at");

-- AddForeignKey
ALTER TABLE "file_shares" ADD CONSTRAINT "file_shares_file_id_fkey" FOREIGN KEY ("file_id") REFERENCES "files"("id") ON DELETE CASCADE ON UPDATE CASCADE;
