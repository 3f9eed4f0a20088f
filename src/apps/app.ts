/**
 * One tenant of the server, as configured in apps.json. Field names follow
 * Soketi's array app manager so a Soketi app can be pasted over unchanged.
 */
export interface App {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  readonly name: string | undefined;
  readonly enabled: boolean;
  readonly enableClientMessages: boolean;
  /** -1 means unlimited. */
  readonly maxConnections: number;
  /** Exact origins or hosts, `*.example.com` wildcards, or `*` for any. */
  readonly allowedOrigins: readonly string[];
  /** Seconds of client silence before the server pings it. */
  readonly activityTimeout: number;
  readonly maxPresenceMembersPerChannel: number;
  readonly maxPresenceMemberSizeInKb: number;
  readonly maxChannelNameLength: number;
  readonly maxEventChannelsAtOnce: number;
  readonly maxEventNameLength: number;
  readonly maxEventPayloadInKb: number;
  readonly maxEventBatchSize: number;
}
