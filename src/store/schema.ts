/**
 * The Kysely view of Rampart's tables. Column types are the portable subset shared by SQLite and
 * PostgreSQL: ids are text UUIDs, timestamps ISO-8601 UTC text (sortable as text), booleans integer
 * 0/1, lists and objects JSON text. Repositories turn rows into camelCase objects.
 */

/** ISO-8601 UTC timestamp as produced by `Date.prototype.toISOString()`. */
export type Timestamp = string;
/** 0 or 1. */
export type Flag = number;
/** JSON text. */
export type JsonText = string;

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  disabled: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolesTable {
  name: string;
  permissions: JsonText;
  builtin: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UserRolesTable {
  user_id: string;
  role_name: string;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  spent_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: JsonText;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: JsonText;
  public_jwk: JsonText;
  created_at: Timestamp;
  retired_at: Timestamp | null;
  status: string;
}

export interface RevokedTokensTable {
  jti: string;
  user_id: string | null;
  expires_at: Timestamp;
}

export interface RevokedSessionsTable {
  sid: string;
  user_id: string;
  expires_at: Timestamp;
}

export interface AuditEventsTable {
  id: string;
  type: string;
  at: Timestamp;
  actor_id: string | null;
  subject: string | null;
  ip: string | null;
  request_id: string | null;
  details: JsonText;
}

export interface NotesTable {
  id: string;
  owner_id: string;
  title: string;
  body: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface Database {
  users: UsersTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  refresh_tokens: RefreshTokensTable;
  api_tokens: ApiTokensTable;
  signing_keys: SigningKeysTable;
  revoked_tokens: RevokedTokensTable;
  revoked_sessions: RevokedSessionsTable;
  audit_events: AuditEventsTable;
  notes: NotesTable;
}
