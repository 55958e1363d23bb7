/** Tiny `--name value` / `--flag` parser for the CLI tools (no dependency needed). */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'number' | 'boolean'>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new Error(`unknown option --${name} (known: ${Object.keys(spec).map((k) => '--' + k).join(', ')})`);
    if (kind === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

/** Exit cleanly on SIGINT/SIGTERM after running `stop`. */
export function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    const t = setTimeout(() => process.exit(0), 3000);
    t.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
