/**
 * Content negotiation for a JSON API: a request whose Accept header rules out JSON gets 406 instead of a
 * body it said it cannot use. Routes that produce something else (the docs' HTML, Prometheus text)
 * declare it with `config.rampart.produces`.
 */
import type { PipelineRequest } from "./stage-io.ts";
import { RampartError } from "../core/errors.ts";

const JSON_TYPES = ["application/json", "application/problem+json"];

/** Whether an Accept header admits one of `produces`: exact types, `type/*` and the any-type wildcard. */
export function accepts(accept: string | undefined, produces: readonly string[] = JSON_TYPES): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0{0,3})?$/.test(p))) continue; // q=0: "not this"
    if (range === "*/*") return true;
    const [type, subtype] = range.split("/");
    for (const produced of produces) {
      const [pType, pSubtype] = produced.split("/");
      if (type === pType && (subtype === "*" || subtype === pSubtype)) return true;
      if (produced === "*/*") return true;
    }
  }
  return false;
}

export function assertAcceptable(request: PipelineRequest): void {
  const produces = request.routeOptions.config?.rampart?.produces;
  if (accepts(request.headers.accept, produces ?? JSON_TYPES)) return;
  throw new RampartError("RAMPART_ERR_NOT_ACCEPTABLE", {
    detail: `This resource is available as ${(produces ?? JSON_TYPES).join(" or ")}; the Accept header rules that out.`,
  });
}
