/**
 * What each subcommand accepts and its own `--help` text. Data only: the
 * behaviour lives in one module per command, wired in `main.ts`.
 */
import type { FlagSpec } from './args.js';

/** One subcommand's flags and help. */
export interface CommandSpec {
  /** One line for the command list of `rolegate --help`. */
  readonly summary: string;
  /** Full text of `rolegate COMMAND --help`. */
  readonly help: string;
  readonly flags: FlagSpec;
  /** Whether it takes positional arguments (default none). */
  readonly positionals?: boolean;
}

const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;
const CONFIG_FLAG = { config: { type: 'string', short: 'c' } } as const;

/** Every subcommand, in the order `rolegate --help` lists them. */
export const COMMANDS = {
  serve: {
    summary: 'run the ext_authz gRPC service and the admin HTTP server',
    flags: { ...HELP_FLAG, ...CONFIG_FLAG, 'dev-issuer': { type: 'boolean' } },
    help: `Run the Envoy ext_authz gRPC service and the admin HTTP server
(/healthz, /readyz, /metrics) until SIGTERM or SIGINT, then drain and exit 0.

Usage:
  rolegate serve --config FILE [--dev-issuer]

Flags:
  -c, --config FILE   configuration (YAML or JSON); required. "-" reads it from
                      standard input: then nothing is watched or hot-reloaded,
                      and relative file names resolve from the working directory
      --dev-issuer    also serve the example development issuer on 127.0.0.1:9100
  -h, --help          show this help

Environment:
  ROLEGATE_LISTEN_HOST   bind both listeners to this IP literal (e.g. 0.0.0.0 in a
                         container), replacing server.grpc.host and server.admin.host
  ROLEGATE_LOG_LEVEL     operational log level (default info)

Exit status: 0 after a clean drain, 1 when the configuration is invalid or a
listener cannot bind, 2 for a usage error.

Examples:
  rolegate serve --config rolegate.yaml
  ROLEGATE_LISTEN_HOST=0.0.0.0 rolegate serve --config /etc/rolegate/rolegate.yaml
  render-config | rolegate serve --config -
`,
  },
  validate: {
    summary: 'check policy files, or a whole configuration, without serving',
    flags: {
      ...HELP_FLAG,
      ...CONFIG_FLAG,
      format: { type: 'string', short: 'o' },
      'fail-on': { type: 'string' },
    },
    positionals: true,
    help: `Check policy files (JSON or YAML) or a whole configuration and report every
error and warning with its file, line, column and JSON path.

Usage:
  rolegate validate [--format text|json] [--fail-on warning|error] FILE...
  rolegate validate [--format text|json] [--fail-on warning|error] --config FILE

With --config, the findings include security checks of the whole
configuration (trust policies, wide grants, unreachable statements, routes
and roles); each names its code, JSON path and docs/findings.md section.

Flags:
  -c, --config FILE       check a whole configuration ("-" reads standard input)
  -o, --format text|json  text (default): one line per finding and a summary;
                          json: one JSON object per line and finding, with
                          code, severity, file, line, column, path, message
                          (and policy, statement inside a policy document;
                          doc for security findings)
      --fail-on LEVEL     warning: exit 1 on any warning too (for CI);
                          error (default): only errors fail
  -h, --help              show this help

Exit status: 0 when nothing is wrong (warnings allowed unless --fail-on
warning), 1 when any finding is an error (or a warning with --fail-on
warning) or a file cannot be read, 2 for a usage error.

Examples:
  rolegate validate policies/*.json
  rolegate validate --config rolegate.yaml --format json | jq -r .message
`,
  },
  simulate: {
    summary: 'evaluate requests (JSON Lines, or one request with a token) as the service would',
    flags: {
      ...HELP_FLAG,
      ...CONFIG_FLAG,
      token: { type: 'string', short: 't' },
      claims: { type: 'string' },
      method: { type: 'string', short: 'X' },
      path: { type: 'string' },
      host: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      'source-ip': { type: 'string' },
    },
    help: `Evaluate requests and print one JSON answer per request.

Usage:
  rolegate simulate                 raw policy evaluation, JSON Lines (see docs/policy-language.md)
  rolegate simulate --config FILE   JSON Lines requests with claims, answered as the
                                    running service would
  rolegate simulate --config FILE --token TOKEN [--method M] --path P
                    [--header 'Name: value']... [--source-ip IP] [--host HOST]
                                    one request with a real token: verified with the
                                    configuration's issuers (keys fetched), then decided
  rolegate simulate --config FILE --claims JSON [--method M] --path P ...
                                    one request for claims taken as verified

Flags:
  -c, --config FILE        configuration (YAML or JSON). It cannot be "-": requests
                           (or the token) may come from standard input
  -t, --token TOKEN        a JWT to verify and decide with; "-" reads it from standard
                           input (keeps it out of the process list). Never printed
      --claims JSON        claims instead of a token ({"iss":..., "sub":..., ...}); the
                           issuer's claim mappings apply, the signature and times are
                           not checked
  -X, --method M           HTTP method (default GET)
      --path P             request path with optional query, as a client sends it
                           (required with --token or --claims)
  -H, --header 'N: V'      a request header; repeat for more (a repeated name joins
                           its values with ",")
      --source-ip IP       the downstream address (aws:SourceIp); IPv4, IPv6 or ::ffff:
      --host HOST          the request's host (default localhost)
  -h, --help               show this help

Answer: {"decision", "status", "reason", "action", "resource", "route",
"assumableRoles", "rolesConsidered", "role", "determining"}.

Exit status: 0 when every request was answered (Allow or Deny), 1 when a line
was invalid or the configuration is, 2 for a usage error.

Examples:
  echo '{"claims":{"iss":"http://127.0.0.1:9100","sub":"alice","aud":"rolegate-dev"},"method":"GET","path":"/orders/42"}' \\
    | rolegate simulate --config examples/rolegate.yaml
  rolegate simulate --config examples/rolegate.yaml --token "$TOKEN" -X DELETE --path /orders/7 \\
    | jq -e '.decision == "Allow"'
`,
  },
  test: {
    summary: 'run policy test files (*.test.yaml) against their configuration',
    flags: { ...HELP_FLAG, ...CONFIG_FLAG, junit: { type: 'string' } },
    positionals: true,
    help: `Run policy tests: YAML files of cases (claims or a principal, method, path,
headers, source address, time; the expected decision and optionally the role,
reason and a determining Sid), each decided by the same code as the server.

Usage:
  rolegate test [--config FILE] [--junit FILE] [PATH...]

PATH is a test file or a directory searched for *.test.yaml, *.test.yml and
*.test.json (default: the working directory). Each file names its
configuration (config:, relative to the file). See docs/policy-tests.md.

Flags:
  -c, --config FILE   decide every file against this configuration instead
      --junit FILE    also write JUnit XML for CI
  -h, --help          show this help

Exit status: 0 when every case passed, 1 when any failed or a file could not
be run, 2 for a usage error.

Example:
  rolegate test examples/ --junit reports/rolegate.xml
`,
  },
  shadow: {
    summary: 'summarise what a shadow candidate configuration would change (shadow report)',
    flags: {
      ...HELP_FLAG,
      audit: { type: 'string', multiple: true },
      format: { type: 'string', short: 'o' },
    },
    positionals: true,
    help: `Summarise the shadow disagreements recorded in audit files: how many
decisions the candidate configuration would change, grouped by role, route
and determining statement, with sample decision ids (docs/safe-changes.md).

Usage:
  rolegate shadow report --audit FILE [--audit FILE]... [--format text|json]

Flags:
      --audit FILE        an audit file (JSON Lines); repeat for more; required
  -o, --format text|json  text (default) or one JSON object
  -h, --help              show this help

Each report says how many lines it read and how many it skipped (not JSON,
or JSON but not an audit record).

Exit status: 0 when the files were read, 1 when one cannot be or none of their
lines is an audit record (ERR_AUDIT_EMPTY), 2 for a usage error.
`,
  },
  report: {
    summary: 'least-privilege usage report from audit files (report usage)',
    flags: {
      ...HELP_FLAG,
      ...CONFIG_FLAG,
      audit: { type: 'string', multiple: true },
      since: { type: 'string' },
      format: { type: 'string', short: 'o' },
    },
    positionals: true,
    help: `Per role of the configuration: the actions and resources it actually allowed,
the statements that never decided a request, the roles nobody assumed, and a
generated least-privilege policy (docs/safe-changes.md).

Usage:
  rolegate report usage --config FILE --audit FILE [--audit FILE]... [--since DURATION]
                        [--format text|json]

Flags:
  -c, --config FILE       the configuration whose roles to report on; required
      --audit FILE        an audit file (JSON Lines); repeat for more; required
      --since DURATION    only records of the last 30m, 12h, 7d, 2w...; default all
  -o, --format text|json  text (default) or one JSON object
  -h, --help              show this help

The report says how many lines it read, how many it skipped (not JSON, or
JSON but not an audit record) and how many records were older than --since.

Exit status: 0 when the files were read, 1 when one cannot be, none of their
lines is a decision record (ERR_AUDIT_EMPTY), or the configuration is invalid;
2 for a usage error.
`,
  },
  explain: {
    summary: 'why a decision was made, from its audit record; replay it against a configuration',
    flags: {
      ...HELP_FLAG,
      ...CONFIG_FLAG,
      audit: { type: 'string', multiple: true },
      claims: { type: 'string' },
      format: { type: 'string', short: 'o' },
    },
    positionals: true,
    help: `Find one decision in audit files by its id (the x-rolegate-decision-id a deny
carries) and print it with its explanation: for a deny, why each role did not
allow, or why the caller's credential was refused. Reads rolegate's audit
records and CloudTrail-shaped ones (audit.format: cloudtrail).

With --config, the recorded request is replayed against that configuration:
method, path, host (when recorded), source address, the caller's issuer and
subject, at the recorded time. The audit record never keeps claim values
other than iss and sub, header values, the query string or TLS: the replay
says what it could not carry, and when the configuration reads such a key and
the answer differs, it says it cannot tell. When the configuration's hash is
not the recorded config_hash, it names both and replays anyway.

Usage:
  rolegate explain DECISION_ID --audit FILE [--audit FILE]... [--config FILE]
                   [--claims JSON] [--format text|json]

Flags:
      --audit FILE        an audit file (JSON Lines); repeat for more; required
  -c, --config FILE       replay the decision against this configuration; default: no replay
      --claims JSON       claims to add to the replay's iss and sub ({"aud": ..., "groups": [...]});
                          only with --config
  -o, --format text|json  text (default) or one JSON object (the record as written,
                          and the replay with today's answer in the record's shape)
  -h, --help              show this help

Exit status: 0 when the decision was found (whatever the replay says), 1 when
it was not (the error says how many records were read), a file cannot be read,
holds no audit record, or the configuration is invalid; 2 for a usage error.

Examples:
  rolegate explain 4b1f0c3e-8d1a-4c55-9a57-2f0e6d1c9b7a --audit /var/log/rolegate/audit.jsonl
  rolegate explain "$ID" --audit audit.jsonl --config rolegate.yaml --claims '{"aud":"orders-api"}'
`,
  },
  access: {
    summary: 'request, approve, deny, revoke, list and show just-in-time access',
    flags: {
      ...HELP_FLAG,
      url: { type: 'string' },
      token: { type: 'string' },
      role: { type: 'string', multiple: true },
      duration: { type: 'string' },
      reason: { type: 'string' },
      ticket: { type: 'string' },
      'break-glass': { type: 'boolean' },
      'session-policy': { type: 'string' },
      comment: { type: 'string' },
      status: { type: 'string' },
      grants: { type: 'boolean' },
      window: { type: 'string' },
      format: { type: 'string', short: 'o' },
    },
    positionals: true,
    help: `Just-in-time access through the access API (docs/access.md).

Usage:
  rolegate access request --role NAME [--role NAME...] [--duration 1h] --reason TEXT
                          [--ticket REF] [--break-glass] [--session-policy FILE]
  rolegate access approve ID [--comment TEXT]
  rolegate access deny ID [--comment TEXT]
  rolegate access revoke GRANT_ID
  rolegate access list [--status pending|approved|denied] [--grants]
  rolegate access show ID
  rolegate access review [--window 30d]

Flags:
      --url URL           the access API (default $ROLEGATE_ACCESS_URL, else http://127.0.0.1:9004)
      --token TOKEN       your token (default $ROLEGATE_TOKEN, else the one rolegate
                          login stored); never printed
      --duration D        seconds, or 30m, 1h, 1h30m (default 1h)
      --role NAME         the role; repeated: one request for several roles, ending together
      --session-policy F  a JSON IAM policy document narrowing the role(s) for the grant
      --window W          review: grants held in the last W (seconds, or 12h, 7d; default 30d)
  -o, --format table|json table (default) or the API's JSON
  -h, --help              show this help

Exit status: 0 on success, 1 when the API refuses (the catalogue code is on
stderr), 2 for a usage error.

Examples:
  rolegate access request --role staging-admin --duration 2h --reason "fix OPS-42"
  rolegate access list --status pending --format json | jq -r '.requests[].id'
  rolegate access request --role staging-read --role staging-write --reason "INC-7" --session-policy readonly.json
  rolegate access review --window 7d
`,
  },
  login: {
    summary: 'sign in with an OpenID provider and store the token rolegate access uses',
    flags: {
      ...HELP_FLAG,
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      scope: { type: 'string' },
      'token-file': { type: 'string' },
    },
    help: `Sign in with an OpenID provider (authorization code with PKCE, RFC 8252's
loopback redirect: http://127.0.0.1:<port>/callback, a port the OS picks; register
the client as a native/public one). Open the printed URL in a browser; the access
token is stored (mode 0600) where rolegate access and rolegate credentials read it
when neither --token nor ROLEGATE_TOKEN is given. The token is never printed.

Usage:
  rolegate login --issuer URL --client-id ID [--scope "openid ..."] [--token-file PATH]

Flags:
      --issuer URL        the OpenID provider (one of rolegate's issuers); required
      --client-id ID      the public client registered for the CLI; required
      --scope S           scopes, space-separated (default openid; openid always asked)
      --token-file PATH   where the token goes (default $ROLEGATE_TOKEN_FILE, else
                          ~/.config/rolegate/token)
  -h, --help              show this help

Exit status: 0 when signed in, 1 when the sign-in failed or did not come back
within 5 minutes (ERR_SIGNIN_FAILED), 2 for a usage error.
`,
  },
  migrate: {
    summary: 'apply the access store migrations and exit',
    flags: { ...HELP_FLAG, ...CONFIG_FLAG },
    help: `Apply the access store's pending migrations (access.store in the configuration),
then exit. rolegate serve applies them on start too; use this to migrate
before rolling out replicas. Migrations are numbered and recorded in the
store; on PostgreSQL they run under an advisory lock.

Usage:
  rolegate migrate --config FILE

Exit status: 0 when the store is up to date, 1 when it cannot be opened or
the configuration is invalid, 2 for a usage error.
`,
  },
  credentials: {
    summary: 'print AWS credential_process JSON for a role you may assume',
    flags: {
      ...HELP_FLAG,
      url: { type: 'string' },
      token: { type: 'string' },
      role: { type: 'string' },
    },
    help: `Print temporary AWS credentials for ROLE as credential_process JSON (Version 1),
for a role you may assume statically or through an active grant, never for
longer than the grant has left.

Usage:
  rolegate credentials --role NAME [--url URL] [--token TOKEN]

In ~/.aws/config:
  [profile staging-admin]
  credential_process = rolegate credentials --role staging-admin
`,
  },
  'dev-token': {
    summary: 'print a token signed by the example development issuer',
    flags: {
      ...HELP_FLAG,
      sub: { type: 'string' },
      groups: { type: 'string' },
      email: { type: 'string' },
    },
    help: `Print a one-hour token signed by the example development issuer
(examples/dev-issuer; its key is public: never trust that issuer elsewhere).

Usage:
  rolegate dev-token --sub NAME [--groups a,b] [--email ADDR]

Flags:
      --sub NAME      the token's subject; required
      --groups LIST   comma-separated groups claim
      --email ADDR    email claim
  -h, --help          show this help

Example:
  TOKEN=$(rolegate dev-token --sub alice --groups readers)
`,
  },
  diff: {
    summary: 'prove what a config change does to access, or check one config (not-granted, public)',
    flags: {
      ...HELP_FLAG,
      ...CONFIG_FLAG,
      old: { type: 'string' },
      new: { type: 'string' },
      'fail-on': { type: 'string' },
      action: { type: 'string' },
      resource: { type: 'string' },
      format: { type: 'string', short: 'o' },
      'max-cells': { type: 'string' },
    },
    positionals: true,
    help: `Prove what a configuration change does to access: every class of request
whose decision changes, newly allowed first, each with a witness request that
was decided under both configurations by the live engine. Or check one
configuration: no identity can perform an action (not-granted), or no route is
reachable by every token of an issuer (public). The reasoning covers the whole
request space (docs/diff.md); what it does not cover makes the answer unknown.

Usage:
  rolegate diff --old FILE --new FILE [--fail-on new-access|any-change]
  rolegate diff not-granted --config FILE --action ACTION [--resource ARN]
  rolegate diff public --config FILE

Flags:
      --old FILE, --new FILE   the configurations to compare (YAML or JSON)
      --fail-on new-access     exit 1 when the new configuration allows a request
                               the old one denied (any-change: any decision change)
  -c, --config FILE            the configuration a check reads
      --action ACTION          not-granted: the IAM action (case-insensitive)
      --resource ARN           not-granted: an ARN pattern (* and ?); default *
  -o, --format text|json       text (default) or one JSON document
      --max-cells N            bound on the request cells decided (default 2000000)
  -h, --help                   show this help

Exit status: 0 proved (no failing finding), 1 a failing finding (new access
with --fail-on, a granted or public action), 2 unknown (a construct outside the
covered fragment, named with its file and JSON path) or a usage error.

Examples:
  rolegate diff --old main/rolegate.yaml --new rolegate.yaml --fail-on new-access
  rolegate diff not-granted --config rolegate.yaml --action orders:PurgeOrders
  rolegate diff public --config rolegate.yaml
`,
  },
  version: {
    summary: 'print the version',
    flags: { ...HELP_FLAG },
    help: `Print rolegate's version (also: rolegate --version).

Usage:
  rolegate version
`,
  },
  help: {
    summary: 'show help for rolegate or one command',
    flags: { ...HELP_FLAG },
    positionals: true,
    help: `Show help for rolegate, or for one command.

Usage:
  rolegate help [COMMAND]
`,
  },
} as const satisfies Record<string, CommandSpec>;

/** A subcommand name. */
export type CommandName = keyof typeof COMMANDS;

/** True when `name` is a subcommand. */
export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The text of `rolegate --help`. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS)
    .map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`)
    .join('\n');
  return `rolegate: an Envoy external authorization service that enforces AWS IAM
roles and policies on your own HTTP APIs.

Usage:
  rolegate COMMAND [flags]
  rolegate COMMAND --help

Commands:
${list}

Flags:
  -h, --help      show this help
  -V, --version   print the version

Exit status: 0 on success, 1 on failure, 2 for a usage error. Errors go to
standard error as one line: the command, a catalogue code (ERR_...), what is
wrong and a hint.
`;
}
