// Entry point: `bun run gateway [command] --config DIR ... [options]`.
import { parseArgs, UsageError, USAGE, type Options } from "./cli/args.ts";
import { serve } from "./primary/serve.ts";
import { analyzeCommand } from "./cli/analyze.ts";
import { proxyConfigCommand } from "./cli/proxy-config.ts";
import { explainCommand } from "./cli/explain.ts";
import { statusCommand } from "./cli/status.ts";
import { CERTS_USAGE, certsCommand } from "./cli/certs.ts";
import pkg from "../package.json" with { type: "json" };

/** Bad usage: the problem on one line (with a did-you-mean), then where the options are; exit 2. */
function usageError(err: UsageError, certs: boolean): number {
  process.stderr.write(`gateway: ${err.message}\nRun "npx gangway ${certs ? "certs " : ""}--help" for the options.\n`);
  return 2;
}

async function run(argv: string[]): Promise<number> {
  if (argv[0] === "certs" && (argv.includes("--help") || argv.includes("-h"))) {
    process.stdout.write(CERTS_USAGE);
    return 0;
  }
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageError(err, argv[0] === "certs");
    throw err;
  }
  try {
    switch (o.command) {
      case "help":
        process.stdout.write(USAGE);
        return 0;
      case "version":
        process.stdout.write(`gangway ${pkg.version} (bun ${Bun.version})\n`);
        return 0;
      case "serve":
        if (o.configDirs.length === 0) throw new UsageError("--config DIR is required");
        return await serve(o);
      case "analyze":
        if (o.configDirs.length === 0) throw new UsageError("analyze needs --config DIR");
        return analyzeCommand(o);
      case "proxy-config":
        return await proxyConfigCommand(o);
      case "explain":
        if (o.configDirs.length === 0) throw new UsageError("explain needs --config DIR");
        return await explainCommand(o);
      case "certs":
        return await certsCommand(o);
      case "status":
        if (o.configDirs.length === 0) throw new UsageError("status needs --config DIR");
        return statusCommand(o);
    }
  } catch (err) {
    if (err instanceof UsageError) return usageError(err, o.command === "certs");
    // anything else a command did not report itself: one line, not a stack trace
    process.stderr.write(`gateway: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}

const code = await run(process.argv.slice(2));
// not process.exit(code) at once: Bun drops what it still holds for a piped stdout/stderr
// (analyze's JSON to a late reader arrived cut). The event loop's end flushes them; a handle
// a command left open gets 2 s
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
