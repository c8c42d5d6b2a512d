/** Schema pieces shared by route modules. */
import { Type as T } from "@sinclair/typebox";

/** What a login answers an API client (password, second factor or passkey). */
export const TokenPair = T.Object({
  access_token: T.String(),
  token_type: T.Literal("Bearer"),
  expires_in: T.Integer(),
  refresh_token: T.String(),
});

/** What a login answers a browser (`?session=cookie`): the tokens are in HttpOnly cookies. */
export const CookieSessionOut = T.Object({ token_type: T.Literal("Cookie"), expires_in: T.Integer(), csrf_token: T.String() });

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
