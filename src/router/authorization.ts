/**
 * Router-side authorization (advanced profile "Authorization"): per-role
 * permissions on URI patterns for call, register, publish and subscribe, with
 * forced disclosure, as in Crossbar's realm/roles/permissions config; or a
 * dynamic authorizer procedure per role.
 *
 * Permissions match like registrations: the best-matching entry (exact >
 * longest prefix > most specific wildcard) decides alone. A realm without
 * `roles` is open (everything allowed). The role `'trusted'` is always allowed.
 *
 * @module
 */
import type { WampDict } from '../wamp/uri.js';
import { isDict } from '../wamp/uri.js';
import { InternalCallError, type InternalCallResult } from './auth.js';
import { PatternMap } from './matching.js';
import type { Action, PermissionConfig, RealmConfig, RoleConfig } from './options.js';
import type { SessionInfo } from './state.js';
import { WampUri } from './uris.js';

/** The built-in role of sessions attached with `trusted: true`. */
export const TRUSTED_ROLE = 'trusted';

/** An authorization decision. */
export interface AuthzDecision {
  /** Whether the action may go ahead. */
  allow: boolean;
  /** Whether the permission forces disclosure of the caller/publisher. */
  disclose: boolean;
  /** Error URI when not allowed: `wamp.error.not_authorized` or `wamp.error.authorization_failed`. */
  error?: string;
}

const ALLOWED: AuthzDecision = Object.freeze({ allow: true, disclose: false });
const DENIED: AuthzDecision = Object.freeze({ allow: false, disclose: false, error: WampUri.NOT_AUTHORIZED });
const FAILED: AuthzDecision = Object.freeze({ allow: false, disclose: false, error: WampUri.AUTHORIZATION_FAILED });

/** Calls a procedure in the realm as the router. */
export type InternalCaller = (procedure: string, args: unknown[], kwargs?: WampDict) => Promise<InternalCallResult>;

interface CompiledRole {
  readonly permissions: PatternMap<PermissionConfig> | null;
  readonly authorizer: string | undefined;
}

/** Authorization of one realm. */
export class RealmAuthorizer {
  private readonly roles: Map<string, CompiledRole> | null;

  /**
   * @param config - the realm config (roles)
   * @param call - makes the router's own calls (dynamic authorizers)
   */
  constructor(
    config: RealmConfig,
    private readonly call: InternalCaller,
  ) {
    this.roles = config.roles ? new Map(config.roles.map((r) => [r.name, compileRole(r)])) : null;
  }

  /** Whether `authrole` may join the realm (else ABORT `wamp.error.no_such_role`). */
  hasRole(authrole: string): boolean {
    return authrole === TRUSTED_ROLE || this.roles === null || this.roles.has(authrole);
  }

  /**
   * Decides whether `session` may do `action` on `uri`.
   *
   * @returns a decision, or a promise of one when the role has a dynamic authorizer
   */
  authorize(session: SessionInfo, uri: string, action: Action, options: WampDict): AuthzDecision | Promise<AuthzDecision> {
    if (session.authrole === TRUSTED_ROLE || this.roles === null) return ALLOWED;
    const role = this.roles.get(session.authrole);
    if (!role) return DENIED;
    if (role.authorizer !== undefined) return this.dynamic(role.authorizer, session, uri, action, options);
    const perm = role.permissions?.best(uri);
    if (!perm || perm.allow?.[action] !== true) return DENIED;
    const disclose =
      (action === 'call' && perm.disclose?.caller === true) || (action === 'publish' && perm.disclose?.publisher === true);
    return disclose ? { allow: true, disclose: true } : ALLOWED;
  }

  private async dynamic(
    procedure: string,
    session: SessionInfo,
    uri: string,
    action: Action,
    options: WampDict,
  ): Promise<AuthzDecision> {
    let res: InternalCallResult;
    try {
      res = await this.call(procedure, [{ ...session }, uri, action, options]);
    } catch (err) {
      if (err instanceof InternalCallError && err.uri === WampUri.NOT_AUTHORIZED) return DENIED;
      return FAILED;
    }
    const v = res.args?.[0];
    if (v === true) return ALLOWED;
    if (v === false) return DENIED;
    if (isDict(v) && typeof v.allow === 'boolean') {
      if (!v.allow) return DENIED;
      return { allow: true, disclose: v.disclose === true };
    }
    return FAILED;
  }
}

function compileRole(r: RoleConfig): CompiledRole {
  if (r.authorizer !== undefined) return { permissions: null, authorizer: r.authorizer };
  const map = new PatternMap<PermissionConfig>();
  for (const p of r.permissions ?? []) map.set(p.uri, p.match ?? 'exact', p);
  return { permissions: map, authorizer: undefined };
}
