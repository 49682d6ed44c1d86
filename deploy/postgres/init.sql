-- Run once by the postgres image, when its data volume is new (docker-compose.yml): one database per
-- subgraph, each owned by the POSTGRES_USER the image created and migrated by its own service.
CREATE DATABASE parley_users;
CREATE DATABASE parley_conversations;
CREATE DATABASE parley_messages;
CREATE DATABASE parley_presence;
CREATE DATABASE parley_files;
