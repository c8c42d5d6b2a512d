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
  /** `"required"`: the role's users need a second factor (002_second_factors); null otherwise. */
  mfa: string | null;
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

/** A passkey (003_passkeys). `id` is the credential id, base64url; `public_key` the COSE key, base64url. */
export interface WebauthnCredentialsTable {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  /** bigint: PostgreSQL's driver returns it as text, SQLite as a number. */
  sign_count: number | string;
  transports: JsonText;
  backup_eligible: Flag;
  backed_up: Flag;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

/** A pending WebAuthn challenge (003_passkeys), stored as its SHA-256, consumed once. */
export interface WebauthnChallengesTable {
  challenge_hash: string;
  kind: string;
  user_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** A user's TOTP factor (002_second_factors): the seed sealed with AES-256-GCM, the last accepted step. */
export interface TotpFactorsTable {
  user_id: string;
  secret_sealed: string;
  confirmed_at: Timestamp | null;
  last_step: number | null;
  created_at: Timestamp;
}

/** A recovery code (002_second_factors), stored as its SHA-256 only. */
export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

/** A pending second-factor login (`mfa_token`, 002_second_factors), stored as its SHA-256, consumed once. */
export interface MfaChallengesTable {
  id: string;
  token_hash: string;
  user_id: string;
  client_ip: string;
  cookie_session: Flag;
  created_at: Timestamp;
  expires_at: Timestamp;
  consumed_at: Timestamp | null;
}

/** Installation-wide secrets generated on first start (002_second_factors), base64url. */
export interface InstallationSecretsTable {
  name: string;
  value: string;
  created_at: Timestamp;
}

/** An OAuth service client (004_service_clients): the secret as its SHA-256 only, scopes as JSON. */
export interface ServiceClientsTable {
  id: string;
  name: string;
  secret_hash: string;
  scopes: JsonText;
  created_by: string | null;
  created_at: Timestamp;
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
  service_clients: ServiceClientsTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  installation_secrets: InstallationSecretsTable;
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
}
