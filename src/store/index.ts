/**
 * Rampart's storage: `openDatabase` → `migrateToLatest(db)` → `createRepositories(db)`.
 * Repositories work on a transaction too: `db.transaction().execute((trx) => createRepositories(trx)…)`.
 */
import type { Kysely } from "kysely";
import { type ApiTokensRepository, createApiTokensRepository } from "./repositories/api-tokens.ts";
import { type AuditRepository, createAuditRepository } from "./repositories/audit.ts";
import { type NotesRepository, createNotesRepository } from "./repositories/notes.ts";
import { type InstallationSecretsRepository, createInstallationSecretsRepository } from "./repositories/installation-secrets.ts";
import { type MfaChallengesRepository, createMfaChallengesRepository } from "./repositories/mfa-challenges.ts";
import { type SecondFactorsRepository, createSecondFactorsRepository } from "./repositories/second-factors.ts";
import { type PasskeysRepository, createPasskeysRepository } from "./repositories/passkeys.ts";
import { type RefreshTokensRepository, createRefreshTokensRepository } from "./repositories/refresh-tokens.ts";
import { type RevocationsRepository, createRevocationsRepository } from "./repositories/revocations.ts";
import { type RolesRepository, createRolesRepository } from "./repositories/roles.ts";
import { type ServiceClientsRepository, createServiceClientsRepository } from "./repositories/service-clients.ts";
import type { RepositoryOptions } from "./repositories/shared.ts";
import { type SigningKeysRepository, createSigningKeysRepository } from "./repositories/signing-keys.ts";
import { type UsersRepository, createUsersRepository } from "./repositories/users.ts";
import { type WebauthnChallengesRepository, createWebauthnChallengesRepository } from "./repositories/webauthn-challenges.ts";
import type { Database } from "./schema.ts";

export interface Repositories {
  users: UsersRepository;
  roles: RolesRepository;
  refreshTokens: RefreshTokensRepository;
  apiTokens: ApiTokensRepository;
  signingKeys: SigningKeysRepository;
  revocations: RevocationsRepository;
  audit: AuditRepository;
  notes: NotesRepository;
  secondFactors: SecondFactorsRepository;
  mfaChallenges: MfaChallengesRepository;
  installationSecrets: InstallationSecretsRepository;
  serviceClients: ServiceClientsRepository;
  passkeys: PasskeysRepository;
  webauthnChallenges: WebauthnChallengesRepository;
}

export function createRepositories(db: Kysely<Database>, options: RepositoryOptions = {}): Repositories {
  return {
    users: createUsersRepository(db, options),
    roles: createRolesRepository(db, options),
    refreshTokens: createRefreshTokensRepository(db, options),
    apiTokens: createApiTokensRepository(db, options),
    signingKeys: createSigningKeysRepository(db, options),
    revocations: createRevocationsRepository(db),
    audit: createAuditRepository(db, options),
    notes: createNotesRepository(db, options),
    secondFactors: createSecondFactorsRepository(db, options),
    mfaChallenges: createMfaChallengesRepository(db, options),
    installationSecrets: createInstallationSecretsRepository(db, options),
    serviceClients: createServiceClientsRepository(db, options),
    passkeys: createPasskeysRepository(db, options),
    webauthnChallenges: createWebauthnChallengesRepository(db, options),
  };
}

export { type DatabaseHandle, type Engine, type OpenDatabaseOptions, openDatabase } from "./db.ts";
export { migrateToLatest } from "./migrate.ts";
export type { Database } from "./schema.ts";
export type { Clock, Page, RepositoryOptions } from "./repositories/shared.ts";
export { type NewUser, type User, type UsersRepository, normaliseEmail } from "./repositories/users.ts";
export { ADMIN_ROLE, type Role, type RoleMfa, type RolesRepository } from "./repositories/roles.ts";
export type { NewRefreshToken, RefreshToken, RefreshTokensRepository } from "./repositories/refresh-tokens.ts";
export type { ApiToken, ApiTokensRepository, NewApiToken } from "./repositories/api-tokens.ts";
export type {
  Jwk,
  NewSigningKey,
  SigningKey,
  SigningKeyStatus,
  SigningKeysRepository,
} from "./repositories/signing-keys.ts";
export type { RevocationsRepository, RevokedJti, RevokedSession } from "./repositories/revocations.ts";
export type { AuditEvent, AuditQuery, AuditRepository, NewAuditEvent } from "./repositories/audit.ts";
export type { NewNote, Note, NotesRepository } from "./repositories/notes.ts";
export type { SecondFactorsRepository, TotpFactor } from "./repositories/second-factors.ts";
export type { MfaChallenge, MfaChallengesRepository, NewMfaChallenge } from "./repositories/mfa-challenges.ts";
export type { InstallationSecretsRepository } from "./repositories/installation-secrets.ts";
export type { NewServiceClient, ServiceClient, ServiceClientsRepository } from "./repositories/service-clients.ts";
export type { NewPasskey, Passkey, PasskeysRepository } from "./repositories/passkeys.ts";
export type { ChallengeKind, NewChallenge, WebauthnChallengesRepository } from "./repositories/webauthn-challenges.ts";
