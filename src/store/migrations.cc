#include "store/migrations.h"

#include <iterator>

#include <fmt/format.h>

namespace ferry::store_internal {
namespace {

// Times are BIGINT microseconds since the Unix epoch (UTC) in both engines, so a row means the
// same thing whichever engine holds it.
constexpr Migration kMigrations[] = {
    {.version = 1,
     .name = "work-queue-and-event-log",
     .common_sql = R"sql(
CREATE TABLE ferry_tasks (
  id {serial_id},
  queue TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '',
  dedupe_key TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
  lease_owner TEXT,
  lease_token BIGINT NOT NULL DEFAULT 0,
  lease_expires_at BIGINT,
  not_before BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT,
  last_error TEXT,
  result TEXT,
  UNIQUE (queue, dedupe_key)
);
CREATE INDEX ferry_tasks_claimable ON ferry_tasks (queue, priority DESC, id) WHERE state = 'pending';
CREATE INDEX ferry_tasks_leased ON ferry_tasks (queue, lease_expires_at) WHERE state = 'leased';
CREATE INDEX ferry_tasks_state ON ferry_tasks (queue, state);

CREATE TABLE ferry_events (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  run_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX ferry_events_run ON ferry_events (run_id, seq);
CREATE TABLE ferry_event_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO ferry_event_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql",
     .sqlite_sql = R"sql(
CREATE TRIGGER ferry_events_no_update BEFORE UPDATE ON ferry_events
  BEGIN SELECT RAISE(ABORT, 'ferry_events is append-only'); END;
CREATE TRIGGER ferry_events_no_delete BEFORE DELETE ON ferry_events
  BEGIN SELECT RAISE(ABORT, 'ferry_events is append-only'); END;
)sql",
     // ferry_now() is the statement's start on the server's clock, so that workers on machines
     // with skewed clocks agree on lease expiry; STABLE lets it serve as an index condition.
     .postgres_sql = R"sql(
CREATE FUNCTION ferry_now() RETURNS BIGINT LANGUAGE sql STABLE
  AS $$ SELECT (extract(epoch FROM statement_timestamp()) * 1000000)::BIGINT $$;
CREATE FUNCTION ferry_events_append_only() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN RAISE EXCEPTION 'ferry_events is append-only'; END $$;
CREATE TRIGGER ferry_events_no_change BEFORE UPDATE OR DELETE ON ferry_events
  FOR EACH ROW EXECUTE FUNCTION ferry_events_append_only();
)sql"},
    // A run is one invocation of a long job (a copy, later a workflow): what was asked, where it
    // stands, and what it produced. Its tasks live in the queue named after it.
    {.version = 2,
     .name = "runs",
     .common_sql = R"sql(
CREATE TABLE ferry_runs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  spec TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX ferry_runs_fingerprint ON ferry_runs (kind, fingerprint, created_at);
)sql",
     .sqlite_sql = "",
     .postgres_sql = ""},
    // The inventories `ferry discover --save` took, one row per host (the latest save wins),
    // which `ferry plan --from-store` reads. The document is the inventory's JSON text, kept
    // as written; the other columns say what it is without parsing it.
    {.version = 3,
     .name = "inventories",
     .common_sql = R"sql(
CREATE TABLE ferry_inventories (
  name TEXT PRIMARY KEY,
  source_kind TEXT NOT NULL,
  taken_at BIGINT NOT NULL,
  schema_version TEXT NOT NULL,
  document TEXT NOT NULL,
  saved_at BIGINT NOT NULL
);
)sql",
     .sqlite_sql = "",
     // Names sort byte by byte in both engines (SQLite's BINARY), whatever the database's
     // locale, so that a listing pages the same way on either.
     .postgres_sql = R"sql(
ALTER TABLE ferry_inventories ALTER COLUMN name TYPE TEXT COLLATE "C";
)sql"},
    // The keyring (src/keyring, docs/crypto.md "Keys and secrets"): key-encryption key versions
    // (where each is kept, never the key), data-encryption key versions, each DEK's wrappings
    // under KEK versions (a DEK has two while a KEK rotation is under way), the lifecycle
    // policies, and the secrets, sealed under a DEK. Nothing here is a key or a value in clear.
    // Times are 0 for "not yet" (retired_at, destroyed_at).
    {.version = 4,
     .name = "keyring",
     .common_sql = R"sql(
CREATE TABLE ferry_keyring_keks (
  version BIGINT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'destroyed')),
  backend TEXT NOT NULL CHECK (backend IN ('file', 'pkcs11')),
  locator TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0,
  destroyed_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE ferry_keyring_deks (
  purpose TEXT NOT NULL,
  version BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'destroyed')),
  created_at BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0,
  destroyed_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (purpose, version)
);
CREATE TABLE ferry_keyring_wraps (
  purpose TEXT NOT NULL,
  dek_version BIGINT NOT NULL,
  kek_version BIGINT NOT NULL REFERENCES ferry_keyring_keks (version),
  wrapped TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (purpose, dek_version, kek_version),
  FOREIGN KEY (purpose, dek_version) REFERENCES ferry_keyring_deks (purpose, version)
);
CREATE TABLE ferry_key_policies (
  key_name TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE ferry_secrets (
  name TEXT PRIMARY KEY,
  version BIGINT NOT NULL,
  purpose TEXT NOT NULL,
  dek_version BIGINT NOT NULL,
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  FOREIGN KEY (purpose, dek_version) REFERENCES ferry_keyring_deks (purpose, version)
);
CREATE INDEX ferry_secrets_dek ON ferry_secrets (purpose, dek_version);
)sql",
     .sqlite_sql = "",
     .postgres_sql = R"sql(
ALTER TABLE ferry_secrets ALTER COLUMN name TYPE TEXT COLLATE "C";
)sql"},
    // The HTTP API (src/server, docs/api.md): API keys, the console's session tokens, projects,
    // and the plans made through the API. A key or session keeps only a salted hash of its
    // secret (HMAC-SHA256 keyed by the salt), never the secret. Names of keys in force are
    // unique (the actor "key:NAME" of their events must name one key); a revoked key's name may
    // be reused. Times are 0 for "never" (expires_at) and "not yet" (revoked_at).
    {.version = 5,
     .name = "api-keys-projects-plans",
     .common_sql = R"sql(
CREATE TABLE ferry_api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  salt TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ferry_api_keys_name_in_force ON ferry_api_keys (name) WHERE revoked_at = 0;
CREATE TABLE ferry_api_sessions (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES ferry_api_keys (id),
  salt TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX ferry_api_sessions_expiry ON ferry_api_sessions (expires_at);
CREATE TABLE ferry_projects (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE ferry_plans (
  id TEXT PRIMARY KEY,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  hosts BIGINT NOT NULL,
  waves BIGINT NOT NULL,
  options TEXT NOT NULL,
  document TEXT NOT NULL
);
CREATE INDEX ferry_plans_created ON ferry_plans (created_at);
)sql",
     .sqlite_sql = "",
     .postgres_sql = R"sql(
ALTER TABLE ferry_projects ALTER COLUMN name TYPE TEXT COLLATE "C";
)sql"},
};

}  // namespace

std::span<const Migration> AllMigrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

std::string MigrationScript(const Migration& migration, SqlEngine engine) {
  const bool sqlite = engine == SqlEngine::kSqlite;
  // SQLite's AUTOINCREMENT never reuses the id of a deleted row, like an identity column.
  std::string common = fmt::format(
      fmt::runtime(migration.common_sql),
      fmt::arg("serial_id", sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                   : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"));
  return fmt::format("{}{}", common, sqlite ? migration.sqlite_sql : migration.postgres_sql);
}

}  // namespace ferry::store_internal
