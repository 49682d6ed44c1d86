-- AlterTable
ALTER TABLE "files" ADD COLUMN "metadata" TEXT,
ADD COLUMN "released_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "files_released_at_idx" ON "files"("released_at");
