/**
 * The HTTP transport's half of a check: an HTTP check call in, the answer
 * out, through the same {@link CheckPipeline} as gRPC (same `check()`,
 * metrics, audit and tracing). The server in `transport/http` only parses
 * HTTP; this joins the request edge and the response builder to it.
 */
import { httpCheckRequest, type HttpCheckRequestOptions } from '../request/http-check.js';
import { toHttpResponse } from '../response/http-response.js';
import type { FrontDoor, HttpCheckAnswer, HttpCheckCall } from '../wire/http-check.js';
import type { CheckPipeline } from './handler.js';

/**
 * Answers one HTTP check call; `options` is the current `server.http` (the
 * part the request edge reads), passed per call so a reload applies;
 * `abandoned()` is true once the caller's connection is gone, and such a
 * check is counted and audited as `ERR_CHECK_ABANDONED`, as on gRPC.
 */
export type HttpCheckHandler = (
  door: FrontDoor,
  call: HttpCheckCall,
  options: HttpCheckRequestOptions,
  abandoned?: () => boolean,
) => Promise<HttpCheckAnswer>;

/** Creates the HTTP check handler over the shared pipeline. */
export function createHttpCheckHandler(pipeline: CheckPipeline): HttpCheckHandler {
  return (door, call, options, abandoned) => {
    const request = httpCheckRequest(door, call, options);
    return pipeline(
      request,
      (outcome, settings) => toHttpResponse(outcome, request.headers, settings),
      abandoned,
    );
  };
}
