/**
 * Runs one client command straight through runClientCommand, without the
 * `autostrada` dispatcher: `node --import tsx test/cli/client-entry.ts call …`.
 * The CLI tests use src/cli/autostrada.ts unless AUTOSTRADA_CLI names this file.
 */
import { runClientCommand } from '../../src/cli/wamp-client.js';

const [command = '', ...rest] = process.argv.slice(2);
runClientCommand(command, rest).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`autostrada: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
