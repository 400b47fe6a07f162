// A local OpenID Connect provider for Tollgate's single sign-on tests (see README.md).
//
//   node provider.mjs --port 0 --client-id tollgate-console --client-secret S \
//     --redirect-uri http://127.0.0.1:PORT/console/sso/callback [--redirect-uri ...] \
//     [--client OTHER_ID:OTHER_SECRET]
//
// Prints `oidc-provider listening on http://127.0.0.1:NNNN` on stdout once it accepts
// connections; that URL is the issuer. Anything else it has to say goes to stderr.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

// The provider announces its development-only features (the built-in login pages, which are
// the point here) and an older Node.js on every start. The tests know; keep stderr for what
// they do not.
const expected = [
  'oidc-provider WARNING: Unsupported runtime',
  'oidc-provider WARNING: a quick start development-only feature devInteractions',
];
const warn = console.warn.bind(console);
console.warn = (first, ...rest) => {
  if (typeof first === 'string' && expected.some((prefix) => first.includes(prefix))) {
    return;
  }
  warn(first, ...rest);
};
// stdout carries the one line the tests read.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    client: { type: 'string', multiple: true },
  },
  strict: true,
});

function usage(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

if (!values['client-id'] || !values['client-secret']) usage('--client-id and --client-secret are required');
const redirectUris = values['redirect-uri'] ?? [];
if (redirectUris.length === 0) usage('at least one --redirect-uri is required');
const port = Number.parseInt(values.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --port ${values.port}`);

const { default: Provider } = await import('oidc-provider');

/** The groups each test login belongs to. */
const GROUPS = {
  'owner@example.com': ['tollgate-owners'],
  'manager@example.com': ['tollgate-managers'],
  'viewer@example.com': ['tollgate-viewers'],
  'nobody@example.com': ['sales'],
};

/** Everything the provider stores, in this process only (each test starts its own). */
class MemoryAdapter {
  static store = new Map();

  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expires = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    MemoryAdapter.store.set(this.key(id), { payload, expires });
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const ids = MemoryAdapter.store.get(grantKey)?.payload ?? [];
      ids.push(this.key(id));
      MemoryAdapter.store.set(grantKey, { payload: ids, expires: Infinity });
    }
    if (payload.userCode) MemoryAdapter.store.set(`userCode:${payload.userCode}`, { payload: id, expires });
    if (payload.uid) MemoryAdapter.store.set(`uid:${payload.uid}`, { payload: id, expires });
  }

  async find(id) {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      MemoryAdapter.store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode) {
    const id = MemoryAdapter.store.get(`userCode:${userCode}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async findByUid(uid) {
    const id = MemoryAdapter.store.get(`uid:${uid}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    MemoryAdapter.store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of MemoryAdapter.store.get(grantKey)?.payload ?? []) {
      MemoryAdapter.store.delete(key);
    }
    MemoryAdapter.store.delete(grantKey);
  }
}

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return {
    keys: [
      { ...rsa, kid: `rsa-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' },
      { ...ec, kid: `ec-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'ES256' },
    ],
  };
}

function client(clientId, clientSecret) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const clients = [client(values['client-id'], values['client-secret'])];
for (const extra of values.client ?? []) {
  const at = extra.indexOf(':');
  if (at <= 0) usage(`--client takes ID:SECRET, not ${extra}`);
  clients.push(client(extra.slice(0, at), extra.slice(at + 1)));
}

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients,
  jwks: signingKeys(),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    // `userinfo_groups` holds the same values but only in user info, as Okta and Keycloak
    // can be set up to do: it tests reading roles from there.
    groups: ['groups', 'userinfo_groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // The ID token carries the claims its scopes grant, as Entra ID and Google do, not only `sub`.
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims(use) {
        const groups = GROUPS[id] ?? [];
        return {
          sub: id,
          name: id.split('@')[0],
          email: id,
          email_verified: true,
          groups,
          ...(use === 'userinfo' ? { userinfo_groups: groups } : {}),
        };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

server.on('request', provider.callback());
process.stdout.write(`oidc-provider listening on ${issuer}\n`);

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
