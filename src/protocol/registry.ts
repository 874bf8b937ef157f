// The service registry's wire types. An instance is a record of its service, attached to a lease: it is
// deregistered, in the revision of the lease's revoke, when the lease dies.

export type HealthStatus = 'passing' | 'critical';

/** An active check the leader runs against the instance (optional: without one, healthy while its lease lives). */
export interface HealthCheck {
  readonly type: 'http' | 'tcp';
  /** HTTP: the path of the GET (default /health); TCP: unused. */
  readonly path?: string;
  /** HTTP: the status that counts as passing (default 200). */
  readonly expectedStatus?: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Probes passing in a row that turn a critical instance passing (default 1). */
  readonly healthyThreshold?: number;
  /** Probes failing in a row that turn a passing instance critical (default 1). */
  readonly unhealthyThreshold?: number;
}

export interface ServiceInstance {
  readonly service: string;
  readonly instance: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Relative weight for weighted selection (default 1). */
  readonly weight: number;
  readonly health: HealthStatus;
  readonly check?: HealthCheck;
  readonly lease: number;
  /** The revision of the registration's latest write (a register, a re-register, a health change). */
  readonly modRevision: number;
}

export interface RegistryRegisterRequest {
  readonly service: string;
  readonly instance: string;
  readonly address: string;
  readonly port: number;
  readonly lease: number;
  readonly tags?: readonly string[];
  readonly metadata?: Readonly<Record<string, string>>;
  readonly weight?: number;
  readonly check?: HealthCheck;
}

export type RegistryRegisterResponse = Record<string, never>;

export interface RegistryDeregisterRequest {
  readonly service: string;
  readonly instance: string;
}

export interface RegistryDeregisterResponse {
  /** 1 when the instance was registered, 0 when it was not. */
  readonly deleted: number;
}

export interface RegistryListRequest {
  readonly service: string;
  /** Only instances that carry every one of these tags. */
  readonly tags?: readonly string[];
  /** Also list critical instances (by default only passing ones). */
  readonly includeUnhealthy?: boolean;
  /** List at this revision (0: the current one). */
  readonly revision?: number;
}

export interface RegistryListResponse {
  readonly instances: readonly ServiceInstance[];
}

export type RegistryEventType = 'registered' | 'updated' | 'health' | 'deregistered';

export interface RegistryEvent {
  readonly type: RegistryEventType;
  /** The instance after the event; for a deregistration, as it was last registered. */
  readonly instance: ServiceInstance;
  readonly revision: number;
}

/** The registryWatch stream of the WebSocket API: its one request, and each message it sends back. */
export interface RegistryWatchRequest {
  readonly service: string;
  /** First revision to deliver (0: from the next one). */
  readonly startRevision?: number;
}
