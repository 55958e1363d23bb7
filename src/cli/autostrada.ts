#!/usr/bin/env node
/**
 * `autostrada <command>`: the package's command line.
 *
 *   autostrada router [--port 8080] [--config router.json]   run the WAMP router (+ demo)
 *   autostrada call|publish|subscribe|register|keygen …        WAMP client commands
 */
import { runRouterCommand } from './router-command.js';

const HELP = `autostrada — WebSocket and WAMP for every JavaScript runtime

usage: autostrada <command> [options]

commands:
  router      run the WAMP router (WebSocket, RawSocket and the demo on one port)
  call        call a procedure and print the result as JSON
  publish     publish an event
  subscribe   print one JSON line per event
  register    register a procedure answered by a command
  keygen      generate a cryptosign key pair

'autostrada <command> --help' describes each command.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'router':
      return runRouterCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return command === undefined ? 2 : 0;
    default: {
      // Client commands (call, publish, subscribe, register, keygen), loaded only when used.
      const { runClientCommand, CLIENT_COMMANDS } = await import('./wamp-client.js');
      if ((CLIENT_COMMANDS as readonly string[]).includes(command)) return runClientCommand(command, rest);
      console.error(`autostrada: unknown command '${command}'\n\n${HELP}`);
      return 2;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`autostrada: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
