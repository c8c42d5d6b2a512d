/** Every migration, by name, in order. A static map (not a directory scan) so bundling cannot lose one. */
import type { Migration } from "kysely";
import { initial } from "./001_initial.ts";
import { secondFactors } from "./002_second_factors.ts";
import { passkeys } from "./003_passkeys.ts";
import { serviceClients } from "./004_service_clients.ts";

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "001_initial": initial,
  "002_second_factors": secondFactors,
  "003_passkeys": passkeys,
  "004_service_clients": serviceClients,
});
