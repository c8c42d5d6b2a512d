/** Schema pieces shared by route modules. */
import { Type as T } from "@sinclair/typebox";

/** The documented body of a 204. */
export const NoContent = T.Null({ description: "No Content" });

/** `?limit=&offset=` with defaults (optional in the OpenAPI document; Ajv fills them in). */
export function Pagination(options: { maxLimit: number; defaultLimit: number }) {
  return T.Object(
    {
      limit: T.Optional(T.Integer({ minimum: 1, maximum: options.maxLimit, default: options.defaultLimit })),
      offset: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    },
    { additionalProperties: false },
  );
}
