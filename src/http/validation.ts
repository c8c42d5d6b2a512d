/**
 * Schema validation with two Ajv instances. Fastify's default compiler coerces types and *silently
 * strips* unknown properties; for a security product an unknown field is an error (mass assignment
 * hides there) and `{"title": 123}` is not a title. Bodies: no coercion, no stripping. Query strings,
 * params and headers are text on the wire, so they are coerced.
 */
import type { FastifySchemaCompiler } from "fastify";
import { Ajv, type Options } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats ships CommonJS with a default export property.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

const common: Options = {
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: false,
};

function makeAjv(coerceTypes: Options["coerceTypes"]): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv(false);
  const coercing = makeAjv("array");
  return ({ schema, httpPart }) => {
    const ajv = httpPart === "body" ? strict : coercing;
    return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
