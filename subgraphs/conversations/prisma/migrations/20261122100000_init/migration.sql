-- CreateEnum
CREATE TYPE "ConversationKind" AS ENUM ('DIRECT', 'GROUP');

-- CreateEnum
CREATE TYPE "MemberRole" AS ENUM ('OWNER', 'ADMIN', 'MEMBER');

-- CreateTable
CREATE TABLE "conversations" (
    "id" UUID NOT NULL,
    "kind" "ConversationKind" NOT NULL,
    "direct_key" TEXT,
    "title" TEXT,
    "description" TEXT,
    "avatar_file_id" UUID,
    "created_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seq" INTEGER NOT NULL DEFAULT 0,
    "last_message_id" UUID,
    "member_count" INTEGER NOT NULL,
    "membership_version" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversation_members" (
    "conversation_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" "MemberRole" NOT NULL,
    "joined_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "read_seq" INTEGER NOT NULL DEFAULT 0,
    "muted_until" TIMESTAMPTZ(3),
    "archived_at" TIMESTAMPTZ(3),
    "pinned_at" TIMESTAMPTZ(3),

    CONSTRAINT "conversation_members_pkey" PRIMARY KEY ("conversation_id","user_id")
);

-- CreateTable
CREATE TABLE "mentions" (
    "conversation_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,

    CONSTRAINT "mentions_pkey" PRIMARY KEY ("conversation_id","user_id","seq")
);

-- CreateTable
CREATE TABLE "activity_changes" (
    "id" BIGSERIAL NOT NULL,
    "conversation_id" UUID NOT NULL,
    "previous_activity_at" TIMESTAMPTZ(3) NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "activity_changes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "conversation_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "conversations_direct_key_key" ON "conversations"("direct_key");

-- CreateIndex
CREATE INDEX "conversation_members_user_id_idx" ON "conversation_members"("user_id");

-- CreateIndex
CREATE INDEX "activity_changes_conversation_id_changed_at_idx" ON "activity_changes"("conversation_id", "changed_at");

-- CreateIndex
CREATE INDEX "activity_changes_changed_at_idx" ON "activity_changes"("changed_at");

-- AddForeignKey
ALTER TABLE "conversation_members" ADD CONSTRAINT "conversation_members_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mentions" ADD CONSTRAINT "mentions_conversation_id_user_id_fkey" FOREIGN KEY ("conversation_id", "user_id") REFERENCES "conversation_members"("conversation_id", "user_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "activity_changes" ADD CONSTRAINT "activity_changes_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every change of last_activity_at leaves where the conversation stood before, for paginated lists that
-- keep their first page's order (not expressible in schema.prisma).
CREATE FUNCTION "record_activity_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "activity_changes" ("conversation_id", "previous_activity_at", "changed_at")
  VALUES (OLD."id", OLD."last_activity_at", NEW."last_activity_at");
  RETURN NEW;
END;
$$;

CREATE TRIGGER "conversations_activity_change"
AFTER UPDATE OF "last_activity_at" ON "conversations"
FOR EACH ROW WHEN (OLD."last_activity_at" IS DISTINCT FROM NEW."last_activity_at")
EXECUTE FUNCTION "record_activity_change"();
