// A real OpenID Connect provider for the tests: panva/node-oidc-provider on loopback, with a small login
// page, users and groups from a JSON file, JWT access tokens for the API, and a test-only key rotation.
//
// Usage: node server.js <config.json>. The config names the port, issuer, clients, users and signing keys
// (private JWKs). Prints "listening <issuer>" once it accepts connections.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const users = config.users; // { email: { password, sub, email_verified, groups } }
const bySub = Object.fromEntries(Object.entries(users).map(([email, u]) => [u.sub, { ...u, email }]));
let keys = config.keys;

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function groupClaims(user) {
  // The same groups under the claim names of Cognito, of a plain "groups" claim and of Keycloak.
  return { "cognito:groups": user.groups, groups: user.groups, realm_access: { roles: user.groups } };
}

function makeProvider() {
  const provider = new Provider(config.issuer, {
    clients: config.clients,
    jwks: { keys },
    cookies: { keys: ["test-cookie-key-0123456789"] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    scopes: ["openid", "email", "profile", "groups", "api"],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["cognito:groups", "groups", "realm_access"],
    },
    async findAccount(ctx, sub) {
      const user = bySub[sub];
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: user.email,
            email_verified: user.email_verified !== false,
            name: user.email.split("@")[0],
            ...groupClaims(user),
          };
        },
      };
    },
    async extraTokenClaims(ctx, token) {
      const user = token.accountId && bySub[token.accountId];
      if (!user || token.kind !== "AccessToken") return undefined;
      return { ...groupClaims(user), email: user.email, email_verified: user.email_verified !== false };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => {
          if (!config.resources.includes(resource)) throw new Error("unknown resource");
          return {
            scope: "api",
            audience: resource,
            accessTokenFormat: "jwt",
            accessTokenTTL: client.clientId.endsWith("-short") ? 2 : 3600,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    ttl: { IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  return provider;
}

let provider = makeProvider();

function loginPage(uid, error) {
  return `<!DOCTYPE html><html><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>${error ? `<p id="error">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label>Email <input name="email" type="email" autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function interaction(req, res) {
  const [, , uid, action] = new URL(req.url, config.issuer).pathname.split("/");
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") {
    if (details.prompt.name === "login") {
      res.writeHead(200, { "content-type": "text/html" }).end(loginPage(uid));
      return;
    }
    await consent(req, res, details);
    return;
  }
  if (action === "login") {
    const form = await readForm(req);
    const user = users[form.email];
    if (!user || user.password !== form.password) {
      res.writeHead(200, { "content-type": "text/html" }).end(loginPage(uid, "Wrong email or password."));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
}

async function consent(req, res, details) {
  // First-party clients: consent is implied, whatever scopes, claims and API resources were asked for.
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const id = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: id } }, { mergeWithLastSubmission: true });
}

function rotate() {
  // A new signing key first, the old ones still published: what a provider does during a key rotation.
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: `rotated-${Date.now()}`, alg: "RS256", use: "sig" };
  keys = [jwk, ...keys];
  provider = makeProvider();
  return jwk.kid;
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith("/interaction/")) {
      await interaction(req, res);
    } else if (req.url === "/__test__/rotate" && req.method === "POST") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kid: rotate() }));
    } else {
      provider.callback()(req, res);
    }
  } catch (err) {
    res.writeHead(500, { "content-type": "text/plain" }).end(String(err && err.stack));
  }
});

server.listen(config.port, "127.0.0.1", () => console.log(`listening ${config.issuer}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
