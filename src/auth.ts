/**
 * autostrada/auth — every WAMP authentication method, both sides:
 * client authenticators (anonymous, ticket, WAMP-CRA salted or not,
 * cryptosign with channel binding and router authentication, SCRAM),
 * cryptosign keys in Autobahn's formats, and the router-side checks.
 * Isomorphic (@noble crypto, no `node:*`).
 */
export * from './wamp/auth/index.js';
