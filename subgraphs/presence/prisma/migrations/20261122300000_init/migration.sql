-- CreateTable
CREATE TABLE "user_presence" (
    "user_id" UUID NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3),
    "hide_last_seen" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_presence_pkey" PRIMARY KEY ("user_id")
);
