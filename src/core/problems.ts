/**
 * Renders errors as RFC 9457 problem details. The only place a response body for an error is made:
 * it takes the client-safe fields of a RampartError and nothing else, so no stack, SQL, path or
 * library message can reach a client by accident.
 */
import { ERRORS, type ErrorCode, problemType, RampartError } from "./errors.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId: string;
  [extension: string]: unknown;
}

/** Members a problem may not take from extensions: the standard ones are ours to set. */
const RESERVED = new Set(["type", "title", "status", "detail", "requestId", "instance"]);

export function toProblem(error: RampartError, requestId: string): Problem {
  const problem: Problem = {
    type: problemType(error.code),
    title: ERRORS[error.code].title,
    status: error.status,
    detail: error.detail,
    requestId,
  };
  if (error.extensions) {
    for (const [key, value] of Object.entries(error.extensions)) if (!RESERVED.has(key)) problem[key] = value;
  }
  return problem;
}

export function problemFor(code: ErrorCode, requestId: string, detail?: string): Problem {
  return toProblem(new RampartError(code, detail === undefined ? {} : { detail }), requestId);
}
