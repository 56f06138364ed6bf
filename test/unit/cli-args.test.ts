import { describe, expect, test } from "bun:test";
import { didYouMean, parseArgs, parseAdmin, parseLabels, parsePortMap, UsageError } from "../../src/cli/args.ts";
import { alpnList } from "../../src/cli/explain.ts";

describe("command line", () => {
  test("defaults follow INTERFACE.md", () => {
    const o = parseArgs(["--config", "dir"]);
    expect(o.command).toBe("serve");
    expect(o.configDirs).toEqual(["dir"]);
    expect(o.namespace).toBe("istio-system");
    expect(o.labels).toEqual({ istio: "ingressgateway" });
    expect(o.bind).toBe("0.0.0.0");
    expect(o.admin).toEqual({ host: "127.0.0.1", port: 15000 });
    expect(o.accessLog).toBe("stdout");
    expect(o.logFormat).toBe("text");
    expect(o.serverHeader).toBe("istio-envoy");
    expect(o.workers).toBeGreaterThanOrEqual(1);
  });

  test("every option, repeated --config and --opt=value forms", () => {
    const o = parseArgs([
      "--config", "a", "--config=b", "--secrets-dir", "s", "--namespace", "gw", "--labels", "istio=ingressgateway,app=x",
      "--port-map", "80:8080,443:8443", "--bind", "127.0.0.1", "--admin", "off", "--workers", "3",
      "--access-log", "off", "--log-format", "json", "--server-header", "gangway", "--drain-seconds", "2",
    ]);
    expect(o.configDirs).toEqual(["a", "b"]);
    expect(o.secretsDir).toBe("s");
    expect(o.namespace).toBe("gw");
    expect(o.labels).toEqual({ istio: "ingressgateway", app: "x" });
    expect([...o.portMap]).toEqual([[80, 8080], [443, 8443]]);
    expect(o.admin).toBeNull();
    expect(o.workers).toBe(3);
    expect(o.accessLog).toBe("off");
    expect(o.logFormat).toBe("json");
    expect(o.serverHeader).toBe("gangway");
    expect(o.drainSeconds).toBe(2);
    const m = parseArgs(["--config", "c", "--mesh-certs", "/etc/certs", "--trust-domain", "corp.example"]);
    expect([m.meshCerts, m.trustDomain]).toEqual(["/etc/certs", "corp.example"]);
    expect([parseArgs(["--config", "c"]).meshCerts, parseArgs(["--config", "c"]).trustDomain]).toEqual([null, "cluster.local"]);
    expect(parseArgs(["--config", "c"]).pathNormalization).toBe("BASE");
    expect(parseArgs(["--config", "c", "--path-normalization", "merge_slashes"]).pathNormalization).toBe("MERGE_SLASHES");
    expect(parseArgs(["--config", "c"]).livenessTimeoutMs).toBe(60_000);
    expect(parseArgs(["--config", "c", "--liveness-timeout", "2m"]).livenessTimeoutMs).toBe(120_000);
    expect(parseArgs(["--config", "c", "--liveness-timeout", "2s"]).livenessTimeoutMs).toBe(2000);
  });

  test("subcommands take their own options and positional words", () => {
    const o = parseArgs(["proxy-config", "clusters", "--admin", "127.0.0.1:15000", "-o", "json"]);
    expect(o.command).toBe("proxy-config");
    expect(o.positional).toEqual(["clusters"]);
    expect(o.extra.get("-o")).toEqual(["json"]);
    expect(parseArgs(["explain", "--config", "c", "--host", "h", "--path", "/p", "--header", "a=b", "--header", "c=d"]).extra.get("--header")).toEqual(["a=b", "c=d"]);
    expect(parseArgs(["--help"]).command).toBe("help");
  });

  test("explain --alpn: comma separated or repeated, in order; \"\" offers none; not given: unknown", () => {
    const cases: [string[], string[] | undefined][] = [
      [[], undefined],
      [["--alpn", "h2,http/1.1"], ["h2", "http/1.1"]],
      [["--alpn", "istio", "--alpn", " h2 , istio-h2"], ["istio", "h2", "istio-h2"]],
      [["--alpn="], []],
      [["--alpn", ",,"], []],
    ];
    for (const [args, want] of cases) {
      expect(alpnList(parseArgs(["explain", "--config", "c", "--host", "h", ...args]).extra.get("--alpn"))).toEqual(want as never);
    }
    expect(() => alpnList(["x".repeat(256)])).toThrow(UsageError);
  });

  test.each([
    [["--nope"]],
    [["--config"]],
    [["frobnicate"]],
    [["--workers", "0"]],
    [["--workers", "x"]],
    [["--log-format", "xml"]],
    [["--port-map", "80"]],
    [["--port-map", "80:70000"]],
    [["--labels", "novalue"]],
    [["--admin", "nohostport"]],
    [["--namespace", "Bad_NS"]],
    [["--trust-domain", "Not A Domain"]],
    [["--bind", "999.1.1.1"]],
    [["--bind", "localhost"]],
    [["--path-normalization", "DEFAULT"]],
    [["--liveness-timeout", "1s"]],
    [["--liveness-timeout", "0"]],
    [["--liveness-timeout", "60"]],
  ])("rejects %p as bad usage", (argv) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
  });

  test("value parsers", () => {
    expect(parseLabels("")).toEqual({});
    expect(parseLabels("a=b, c=")).toEqual({ a: "b", c: "" });
    expect(parsePortMap("80:31194")).toEqual(new Map([[80, 31194]]));
    expect(parseAdmin("[::1]:15000")).toEqual({ host: "::1", port: 15000 });
    expect(parseAdmin(":9901")).toEqual({ host: "127.0.0.1", port: 9901 });
  });
});

describe("usage errors say what was meant", () => {
  test.each([
    [["--confg", "x"], "unknown option --confg; did you mean --config?"],
    [["--config", "x", "--secret-dir", "y"], "unknown option --secret-dir; did you mean --secrets-dir?"],
    [["--config", "x", "--port_map", "80:8080"], "unknown option --port_map; did you mean --port-map?"],
    [["--config", "x", "--workres", "2"], "unknown option --workres; did you mean --workers?"],
    [["analyse", "--config", "x"], 'unknown command "analyse"; did you mean "analyze"?'],
    [["proxy_config"], 'unknown command "proxy_config"; did you mean "proxy-config"?'],
    [["--zzz"], "unknown option --zzz"],
    [["deploy"], 'unknown command "deploy"'],
  ])("%p: %s", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });

  test.each([
    ["--confg", "--config"],
    ["--cnofig", "--config"], // a swap is one edit
    ["--x", null], // too short to guess
    ["--configuration", null], // too far
  ])("didYouMean(%p) = %p", (word, want) => {
    expect(didYouMean(word, ["--config", "--certs", "--help"])).toBe(want);
  });
});
