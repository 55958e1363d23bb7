// The ESM build as an app without a bundler imports it: bare specifiers,
// resolved by the page's import map.
import * as core from 'autostrada';
import * as msgpack from 'autostrada/msgpack';
import * as cbor from 'autostrada/cbor';
import * as auth from 'autostrada/auth';

window.A = { ...core, ...msgpack, ...cbor, ...auth };
