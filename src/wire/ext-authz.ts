/**
 * TypeScript shapes of the Envoy ext_authz v3 messages, in a leaf of their
 * own so the pipeline (request/, check/, response/) and the gRPC transport
 * read one definition and the pipeline never imports the transport. Only
 * types and the google.rpc.Code constants live here; the decoder and
 * encoders are the transport's (src/transport/grpc/). This module imports
 * nothing of ours.
 *
 * The shapes are what @grpc/proto-loader decodes/encodes with the options
 * in src/transport/grpc/protos.ts (keepCase, longs and enums as strings,
 * defaults, oneofs). Only the fields rolegate uses or sends; the .proto
 * files in proto/ are the source of truth.
 *
 * Decoded (inbound) messages, `defaults: true`:
 * - scalars are always present ('' / 0 / false), int64 as decimal strings;
 * - repeated fields are arrays, maps are plain objects (possibly empty);
 * - unset sub-messages are `null`;
 * - for a oneof, only the member that is set is present, plus a virtual
 *   property naming it (e.g. `address: 'socket_address'`).
 *
 * Caveat: google.protobuf.* well-known types come from protobufjs's bundled
 * JSON descriptors, which use camelCase member names whatever keepCase says:
 * Struct's Value is `{ stringValue }`, `{ numberValue }`, ... (see ProtoValue).
 * Any keeps `type_url`; Timestamp is `{ seconds, nanos }`.
 */

// ---------------------------------------------------------------------------
// google.rpc.Code (the subset rolegate uses)

export const RpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

// ---------------------------------------------------------------------------
// google.protobuf well-known types

export type NullValueName = 'NULL_VALUE';

/** google.protobuf.Value, encode side: exactly one member. */
export type ProtoValue =
  | { readonly nullValue: NullValueName | 0 }
  | { readonly numberValue: number }
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly structValue: ProtoStruct }
  | { readonly listValue: { readonly values: readonly ProtoValue[] } };

/** google.protobuf.Struct (e.g. dynamic_metadata, filter_metadata entries). */
export interface ProtoStruct {
  readonly fields: Readonly<Record<string, ProtoValue>>;
}

/** google.protobuf.Value as decoded: the member plus the `kind` discriminator. */
export type DecodedProtoValue =
  | { readonly kind: 'nullValue'; readonly nullValue: NullValueName }
  | { readonly kind: 'numberValue'; readonly numberValue: number }
  | { readonly kind: 'stringValue'; readonly stringValue: string }
  | { readonly kind: 'boolValue'; readonly boolValue: boolean }
  | { readonly kind: 'structValue'; readonly structValue: DecodedProtoStruct }
  | {
      readonly kind: 'listValue';
      readonly listValue: { readonly values: readonly DecodedProtoValue[] };
    };

export interface DecodedProtoStruct {
  readonly fields: Readonly<Record<string, DecodedProtoValue>>;
}

/** google.protobuf.Any, undecoded (proto-loader does not unpack it). */
export interface ProtoAny {
  readonly type_url: string;
  readonly value: Buffer;
}

/** google.protobuf.Timestamp; `seconds` is int64 → decimal string. */
export interface ProtoTimestamp {
  readonly seconds: string;
  readonly nanos: number;
}

// ---------------------------------------------------------------------------
// envoy.config.core.v3 (decoded)

export interface SocketAddress {
  readonly protocol: 'TCP' | 'UDP';
  readonly address: string;
  /** Set when `port_specifier === 'port_value'`. */
  readonly port_value?: number;
  readonly named_port?: string;
  readonly port_specifier?: 'port_value' | 'named_port';
  readonly resolver_name: string;
  readonly ipv4_compat: boolean;
}

export interface Pipe {
  readonly path: string;
  readonly mode: number;
}

export interface Address {
  readonly socket_address?: SocketAddress;
  readonly pipe?: Pipe;
  readonly envoy_internal_address?: {
    readonly server_listener_name?: string;
    readonly endpoint_id: string;
  };
  readonly address?: 'socket_address' | 'pipe' | 'envoy_internal_address';
}

/** A header as decoded from HeaderMap: Envoy fills `raw_value`, not `value`. */
export interface DecodedHeaderValue {
  readonly key: string;
  readonly value: string;
  readonly raw_value: Buffer;
}

export interface HeaderMap {
  readonly headers: readonly DecodedHeaderValue[];
}

export interface Metadata {
  readonly filter_metadata: Readonly<Record<string, DecodedProtoStruct>>;
  readonly typed_filter_metadata: Readonly<Record<string, ProtoAny>>;
}

// ---------------------------------------------------------------------------
// envoy.service.auth.v3.CheckRequest (decoded)

export interface Peer {
  readonly address: Address | null;
  readonly service: string;
  readonly labels: Readonly<Record<string, string>>;
  /** mTLS peer identity (URI SAN or subject); '' without mTLS. */
  readonly principal: string;
  /** URL-encoded PEM of the client certificate; '' unless Envoy is told to send it. */
  readonly certificate: string;
}

export interface HttpRequest {
  readonly id: string;
  readonly method: string;
  /**
   * Lower-case header name → value (repeated headers joined with ',').
   * Empty when Envoy's ext_authz has `encode_raw_headers: true`; then read
   * `header_map`.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Set (non-null) when Envoy uses `encode_raw_headers`; one entry per header line. */
  readonly header_map: HeaderMap | null;
  /** `:path`, query string included. */
  readonly path: string;
  readonly host: string;
  readonly scheme: string;
  /** Not populated by Envoy today (the query is in `path`). */
  readonly query: string;
  readonly fragment: string;
  /** int64 as a decimal string; '-1' when unknown. */
  readonly size: string;
  readonly protocol: string;
  readonly body: string;
  readonly raw_body: Buffer;
}

export interface AttributeContextRequest {
  readonly time: ProtoTimestamp | null;
  readonly http: HttpRequest | null;
}

export interface AttributeContext {
  readonly source: Peer | null;
  readonly destination: Peer | null;
  readonly request: AttributeContextRequest | null;
  readonly context_extensions: Readonly<Record<string, string>>;
  readonly metadata_context: Metadata | null;
  readonly route_metadata_context: Metadata | null;
  readonly tls_session: { readonly sni: string } | null;
}

/** What the Check handler receives (`call.request`). */
export interface CheckRequest {
  readonly attributes: AttributeContext | null;
}

type Attributes = NonNullable<CheckRequest['attributes']>;
type Http = NonNullable<NonNullable<Attributes['request']>['http']>;
type SourcePeer = NonNullable<Attributes['source']>;

/**
 * The part of a CheckRequest the pipeline reads (src/request/normalize.ts):
 * what the gRPC transport's direct decoder fills; a CheckRequest decoded
 * by proto-loader has it too.
 */
export interface CheckRequestFields {
  readonly attributes: {
    readonly source: {
      readonly address: {
        readonly socket_address?: Pick<
          NonNullable<NonNullable<SourcePeer['address']>['socket_address']>,
          'address'
        >;
      } | null;
      readonly principal: SourcePeer['principal'];
    } | null;
    readonly request: {
      readonly http: Pick<
        Http,
        'id' | 'method' | 'headers' | 'header_map' | 'path' | 'host' | 'scheme' | 'query'
      > | null;
    } | null;
    readonly context_extensions: Attributes['context_extensions'];
    readonly tls_session: object | null;
  } | null;
}

// ---------------------------------------------------------------------------
// envoy.service.auth.v3.CheckResponse (encode side: what rolegate builds)

export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

export interface HeaderValue {
  readonly key: string;
  readonly value: string;
}

export interface HeaderValueOption {
  readonly header: HeaderValue;
  /** Defaults to APPEND_IF_EXISTS_OR_ADD (wire value 0) when omitted. */
  readonly append_action?: HeaderAppendAction;
  readonly keep_empty_value?: boolean;
}

export interface QueryParameter {
  readonly key: string;
  readonly value: string;
}

/** Envoy HTTP status names (envoy.type.v3.StatusCode); numbers also encode. */
export type HttpStatusCodeName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'TooManyRequests'
  | 'InternalServerError'
  | 'ServiceUnavailable';

export interface RpcStatus {
  /** A google.rpc.Code; see RpcCode. */
  readonly code: number;
  readonly message?: string;
}

export interface OkHttpResponse {
  /** Added to / set on the upstream request. */
  readonly headers?: readonly HeaderValueOption[];
  /** Removed from the upstream request (pseudo-headers and Host are ignored by Envoy). */
  readonly headers_to_remove?: readonly string[];
  /** Added to the downstream response once the upstream answers. */
  readonly response_headers_to_add?: readonly HeaderValueOption[];
  readonly query_parameters_to_set?: readonly QueryParameter[];
  readonly query_parameters_to_remove?: readonly string[];
}

export interface DeniedHttpResponse {
  readonly status: { readonly code: HttpStatusCodeName | number };
  readonly headers?: readonly HeaderValueOption[];
  readonly body?: string;
}

export interface OkCheckResponse {
  readonly status: RpcStatus & { readonly code: typeof RpcCode.OK };
  readonly ok_response: OkHttpResponse;
  readonly dynamic_metadata?: ProtoStruct;
}

export interface DeniedCheckResponse {
  readonly status: RpcStatus;
  readonly denied_response: DeniedHttpResponse;
  readonly dynamic_metadata?: ProtoStruct;
}

/** What the Check handler returns. */
export type CheckResponse = OkCheckResponse | DeniedCheckResponse;

// ---------------------------------------------------------------------------
// Decoded CheckResponse (client side: tests, bench)

export interface DecodedHeaderValueOption {
  readonly header: DecodedHeaderValue | null;
  readonly append: { readonly value: boolean } | null;
  readonly append_action: HeaderAppendAction;
  readonly keep_empty_value: boolean;
}

export interface DecodedCheckResponse {
  readonly status: { readonly code: number; readonly message: string } | null;
  readonly http_response?: 'ok_response' | 'denied_response';
  readonly ok_response?: {
    readonly headers: readonly DecodedHeaderValueOption[];
    readonly headers_to_remove: readonly string[];
    readonly response_headers_to_add: readonly DecodedHeaderValueOption[];
    readonly query_parameters_to_set: readonly QueryParameter[];
    readonly query_parameters_to_remove: readonly string[];
    readonly dynamic_metadata: DecodedProtoStruct | null;
  };
  readonly denied_response?: {
    /** Enum name, e.g. 'Forbidden'. */
    readonly status: { readonly code: string } | null;
    readonly headers: readonly DecodedHeaderValueOption[];
    readonly body: string;
  };
  readonly dynamic_metadata: DecodedProtoStruct | null;
}

// ---------------------------------------------------------------------------
// Encode side of CheckRequest (clients: tests, bench). Everything optional.

type DeepPartial<T> = T extends Buffer
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepPartial<U>[]
    : T extends object
      ? { readonly [K in keyof T]?: DeepPartial<NonNullable<T[K]>> }
      : T;

/**
 * A CheckRequest to encode: any subset of the decoded shape. Struct values
 * use ProtoValue's encode form; `header_map` entries may set `value` or
 * `raw_value`.
 */
export type CheckRequestInit = DeepPartial<CheckRequest>;
