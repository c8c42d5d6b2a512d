/** Every migration, by name, in order. A static map (not a directory scan) so bundling cannot lose one. */
import type { Migration } from "kysely";
import { initial } from "./001_initial.ts";

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "001_initial": initial,
});
