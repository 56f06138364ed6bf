// VirtualService traffic policies → snapshot routes, as istiod translates them
// for Envoy: retries (and Istio's default policy), fault, mirrors, CORS,
// redirect codes and prefixRewrite, direct-response bytes, unsupported fields.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import type { Route, Snapshot } from "../../src/snapshot/types.ts";
import { compileYaml, findingLines, gatewayAndVS, get } from "./pipeline-helpers.ts";

function routesOf(s: Snapshot): Route[] {
  return s.listeners[0]!.routeTable!.virtualHosts[0]!.routes;
}

/** One forward route with `extra` YAML (indented 4) added to it. */
function one(extra: string): { s: Snapshot; r: Route } {
  const s = compileYaml(gatewayAndVS({ http: `  - route: [{destination: {host: httpbin}}]\n${extra}` }));
  return { s, r: routesOf(s)[0]! };
}

/** Decode errors of a VirtualService with this http route (YAML, indented 2). */
function decodeErrors(http: string): string[] {
  const { errors } = decodeFiles([{ path: "t.yaml", text: gatewayAndVS({ http }) }]);
  return errors.map((e) => `${e.code} ${e.field}: ${e.message}`);
}

describe("retries", () => {
  test("absent: Istio's default policy (2 retries on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes, other hosts)", () => {
    const { r } = one("");
    expect(r.retry).toEqual({
      numRetries: 2,
      perTryTimeoutMs: 0,
      retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
      retriableStatusCodes: [],
      retryPreviousHosts: true,
      hostSelectionRetryMaxAttempts: 5,
      retryRemoteLocalities: false,
      backoffBaseMs: 25,
      backoffMaxMs: 250,
      isDefault: true,
    });
  });

  test("attempts: 0 disables retries", () => {
    expect(one("    retries: {attempts: 0}").r.retry).toBeNull();
  });

  test("attempts, perTryTimeout, retryOn with numeric codes (retriable-status-codes added), backoff, retryIgnorePreviousHosts", () => {
    const { r } = one("    retries: {attempts: 3, perTryTimeout: 2s, retryOn: '5xx,503, retriable-4xx,429', backoff: 100ms, retryIgnorePreviousHosts: false}");
    expect(r.retry).toMatchObject({
      numRetries: 3,
      perTryTimeoutMs: 2000,
      retryOn: ["5xx", "retriable-4xx", "retriable-status-codes"],
      retriableStatusCodes: [503, 429],
      retryPreviousHosts: false,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      isDefault: false,
    });
  });

  test("retryOn given without codes replaces the default conditions; previous hosts stay on", () => {
    expect(one("    retries: {attempts: 1, retryOn: gateway-error}").r.retry).toMatchObject({ retryOn: ["gateway-error"], retriableStatusCodes: [], retryPreviousHosts: true });
  });

  test("retryRemoteLocalities is accepted with an Info finding; retriable-headers is reported as never firing", () => {
    const { s, r } = one("    retries: {attempts: 2, retryOn: 'reset,retriable-headers', retryRemoteLocalities: true}");
    expect(r.retry).toMatchObject({ retryRemoteLocalities: true, retryOn: ["reset", "retriable-headers"] });
    const lines = findingLines(s);
    expect(lines).toContain("Info GW0304 VirtualService/default/vs: retryRemoteLocalities is accepted but not applied: a retry draws its locality priority as the first try did (Envoy's previous_priorities would avoid the priorities already tried)");
    expect(lines).toContain("Warning GW0304 VirtualService/default/vs: retryOn retriable-headers is not evaluated by gangway: it never causes a retry");
  });

  test("Istio's validation: unknown retryOn, attempts 0 with settings, negative attempts", () => {
    expect(decodeErrors("  - route: [{destination: {host: a}}]\n    retries: {attempts: 2, retryOn: '5xx,sometimes'}")).toEqual([
      'GW0106 spec.http[0].retries.retryOn: "sometimes" is not a valid retryOn policy',
    ]);
    expect(decodeErrors("  - route: [{destination: {host: a}}]\n    retries: {attempts: 0, retryOn: 5xx}")).toEqual([
      "GW0106 spec.http[0].retries: http retry policy configured when attempts are set to 0 (disabled)",
    ]);
    expect(decodeErrors("  - route: [{destination: {host: a}}]\n    retries: {attempts: -1}")).toHaveLength(1);
    expect(decodeErrors("  - route: [{destination: {host: a}}]\n    retries: {attempts: 1, perTryTimeout: 0.5ms}")).toEqual([
      "GW0108 spec.http[0].retries.perTryTimeout: duration must be at least 1ms",
    ]);
  });

  test("routes that do not forward get no retry policy (Envoy's retry policy is a route action's)", () => {
    const s = compileYaml(gatewayAndVS({ http: "  - match: [{uri: {prefix: /r}}]\n    redirect: {uri: /x}\n  - directResponse: {status: 200}" }));
    expect(routesOf(s).map((r) => r.retry)).toEqual([null, null]);
  });
});

describe("timeout", () => {
  test("on a forward route; 0 on redirects and direct responses (with a finding when written there)", () => {
    expect(one("    timeout: 1.5s").r.timeoutMs).toBe(1500);
    const s = compileYaml(gatewayAndVS({ http: "  - directResponse: {status: 200}\n    timeout: 3s" }));
    expect(routesOf(s)[0]!.timeoutMs).toBe(0);
    expect(findingLines(s)).toContain(
      "Warning GW0304 VirtualService/default/vs: timeout on a route that does not forward (redirect or directResponse): not applied, as in Envoy",
    );
  });
});

describe("fault", () => {
  test("delay and abort with percentages, per million as Envoy's FractionalPercent", () => {
    const { r } = one("    fault:\n      delay: {fixedDelay: 2s, percentage: {value: 12.5}}\n      abort: {httpStatus: 418, percentage: {value: 0.1}}");
    expect(r.fault).toEqual({ delayMs: 2000, delayPerMillion: 125_000, abortStatus: 418, abortGrpcStatus: -1, abortPerMillion: 1000 });
  });

  test("grpcStatus aborts answer 200 with the gRPC code; the deprecated integer delay percent still counts", () => {
    const { r } = one("    fault:\n      delay: {fixedDelay: 10ms, percent: 50}\n      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}");
    expect(r.fault).toEqual({ delayMs: 10, delayPerMillion: 500_000, abortStatus: 200, abortGrpcStatus: 14, abortPerMillion: 1_000_000 });
  });

  test("no percentage: never fires (Istio's documented default), said by a finding", () => {
    const { s, r } = one("    fault:\n      abort: {httpStatus: 503}");
    expect(r.fault).toMatchObject({ abortStatus: 503, abortPerMillion: 0 });
    expect(findingLines(s)).toContain("Warning GW0304 VirtualService/default/vs: fault.abort.percentage: not written: no request is aborted (Istio's default)");
  });

  test("Istio's validation: status range, unknown gRPC status, fault with a redirect, exponentialDelay, empty fault", () => {
    const err = (f: string, rest = "  - route: [{destination: {host: a}}]") => decodeErrors(`${rest}\n    fault: ${f}`);
    expect(err("{abort: {httpStatus: 99, percentage: {value: 1}}}")).toEqual(["GW0106 spec.http[0].fault.abort.httpStatus: HTTP status 99 is not in range 200-599"]);
    expect(err("{abort: {grpcStatus: SOMETIMES}}")[0]).toMatch(/grpcStatus: gRPC status "SOMETIMES" is not supported/);
    expect(err("{abort: {httpStatus: 500}}", "  - redirect: {uri: /x}")).toEqual(["GW0110 spec.http[0]: HTTP route cannot contain both fault and redirect"]);
    expect(err("{delay: {exponentialDelay: 1s}}")[0]).toMatch(/exponentialDelay not supported yet/);
    expect(err("{}")).toEqual(["GW0105 spec.http[0].fault: HTTP fault injection must have an abort and/or a delay"]);
    expect(err("{delay: {fixedDelay: 1s, percentage: {value: 101}}}")[0]).toMatch(/percentage 101 is neither 0.0, nor in range/);
  });
});

describe("mirrors", () => {
  test("mirror + mirrorPercentage, then mirrors[], resolved like destinations; 0% left out", () => {
    const { r } = one(
      "    mirror: {host: httpbin, subset: v2}\n    mirrorPercentage: {value: 25}\n    mirrors:\n    - destination: {host: httpbin, port: {number: 8000}}\n    - destination: {host: gone}\n      percentage: {value: 0}",
    );
    expect(r.mirrors).toEqual([
      { cluster: "outbound|8000|v2|httpbin.default.svc.cluster.local", host: "httpbin.default.svc.cluster.local", port: 8000, subset: "v2", perMillion: 250_000 },
      { cluster: "outbound|8000||httpbin.default.svc.cluster.local", host: "httpbin.default.svc.cluster.local", port: 8000, subset: "", perMillion: 1_000_000 },
    ]);
  });

  test("deprecated mirrorPercent (or mirror_percent); mirrorPercentage 0 mirrors nothing", () => {
    expect(one("    mirror: {host: httpbin}\n    mirrorPercent: 5").r.mirrors![0]!.perMillion).toBe(50_000);
    // its proto name, which the CRD also lists (protojson reads either)
    expect(one("    mirror: {host: httpbin}\n    mirror_percent: 5").r.mirrors![0]!.perMillion).toBe(50_000);
    expect(one("    mirror: {host: httpbin}\n    mirrorPercentage: {value: 0}").r.mirrors).toEqual([]);
  });

  test("a mirror host that is no service is reported like a destination", () => {
    const { s } = one("    mirror: {host: shadow.example}");
    expect(findingLines(s)).toContain("Warning GW0401 VirtualService/default/vs: destination host shadow.example is no Service or ServiceEntry: requests get 503");
  });
});

describe("corsPolicy", () => {
  test("allowOrigins exact/prefix/regex, lists joined with ',', maxAge in seconds, credentials, unmatchedPreflights", () => {
    const { r } = one(
      "    corsPolicy:\n      allowOrigins: [{exact: 'https://a.com'}, {prefix: 'https://b.'}, {regex: 'https://.*\\.c\\.com'}]\n      allowMethods: [GET, POST]\n      allowHeaders: [x-a, x-b]\n      exposeHeaders: [x-c]\n      maxAge: 24h\n      allowCredentials: true\n      unmatchedPreflights: IGNORE",
    );
    const c = r.cors!;
    expect(c.allowOrigins.map((m) => (m.kind === "regex" ? `regex ${m.source}` : `${m.kind} ${m.value}`))).toEqual([
      "exact https://a.com",
      "prefix https://b.",
      "regex https://.*\\.c\\.com",
    ]);
    expect({ ...c, allowOrigins: [] }).toEqual({
      allowOrigins: [],
      allowMethods: "GET,POST",
      allowHeaders: "x-a,x-b",
      exposeHeaders: "x-c",
      maxAge: "86400",
      allowCredentials: true,
      forwardNotMatchingPreflights: false,
    });
  });

  test("maxAge is a header value, not a timer: 1000h is 3600000 seconds, not capped at the timers' ~24.8 days", () => {
    expect(one("    corsPolicy: {allowOrigins: [{exact: 'https://a.com'}], maxAge: 1000h}").r.cors!.maxAge).toBe("3600000");
  });

  test("the deprecated allowOrigin list is exact matches; preflights that do not match are forwarded by default", () => {
    const c = one("    corsPolicy: {allowOrigin: ['*']}").r.cors!;
    expect(c.allowOrigins).toEqual([{ kind: "exact", value: "*" }]);
    expect([c.forwardNotMatchingPreflights, c.maxAge, c.allowCredentials]).toEqual([true, "", false]);
  });

  test("Istio's validation: unknown method, bad header name, maxAge below a second, empty origin", () => {
    const err = (c: string) => decodeErrors(`  - route: [{destination: {host: a}}]\n    corsPolicy: ${c}`);
    expect(err("{allowMethods: [FETCH]}")).toEqual(['GW0106 spec.http[0].corsPolicy.allowMethods[0]: "FETCH" is not a supported HTTP method']);
    expect(err("{allowHeaders: ['bad header']}")[0]).toMatch(/is not a valid header name/);
    expect(err("{maxAge: 1500ms}")).toEqual(["GW0108 spec.http[0].corsPolicy.maxAge: max_age duration is accurate only to seconds precision"]);
    expect(err("{allowOrigins: [{exact: ''}]}")[0]).toMatch(/not a valid match type for CORS allow origins/);
  });
});

describe("redirect and direct response", () => {
  test("a redirectCode Envoy has no code for drops the route with an Error (Istio builds none); 308 is kept", () => {
    const s = compileYaml(gatewayAndVS({ http: "  - match: [{uri: {prefix: /a}}]\n    redirect: {uri: /x, redirectCode: 300}\n  - redirect: {uri: /y, redirectCode: 308}" }));
    expect(routesOf(s).map((r) => `${r.name} ${r.action.kind === "redirect" ? r.action.status : "-"}`)).toEqual(["vs.1 308"]);
    expect(findingLines(s)).toContain(
      "Error GW0304 VirtualService/default/vs: redirectCode 300 is not one of 301, 302, 303, 307, 308: the route is dropped (Istio builds no route for it)",
    );
    expect(get(s, "a.com", "/a").status).toBe(308);
  });

  test("prefixRewrite is kept on the action; Istio requires prefix uri matches for it", () => {
    const s = compileYaml(gatewayAndVS({ http: "  - match: [{uri: {prefix: /old}}]\n    redirect: {prefixRewrite: /new}" }));
    expect(routesOf(s)[0]!.action).toMatchObject({ kind: "redirect", prefixRewrite: "/new", uri: null });
    expect(decodeErrors("  - match: [{uri: {exact: /old}}]\n    redirect: {prefixRewrite: /new}")).toEqual([
      "GW0106 spec.http[0].match[0].uri: redirect prefixRewrite requires all URI matches to use prefix match type",
    ]);
  });

  test("body.bytes keeps every byte (not decoded as UTF-8)", () => {
    const bytes = new Uint8Array([0, 0xff, 0xfe, 0x80, 0x41]);
    const s = compileYaml(gatewayAndVS({ http: `  - directResponse: {status: 200, body: {bytes: ${Buffer.from(bytes).toString("base64")}}}` }));
    const a = routesOf(s)[0]!.action;
    expect(a.kind === "direct" ? [...a.bytes!] : null).toEqual([...bytes]);
    expect(a.kind === "direct" ? a.body : null).toBe("");
  });
});

describe("uriRegexRewrite", () => {
  test("compiled into the forward action; a substitution naming a missing group is an Error", () => {
    const { r } = one("    rewrite: {uriRegexRewrite: {match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1'}}");
    expect(r.action.kind === "forward" ? [r.action.regexRewrite!.pattern, r.action.regexRewrite!.substitution] : null).toEqual([
      "^/service/([^/]+)(/.*)$",
      "\\2/instance/\\1",
    ]);
    expect(decodeErrors("  - route: [{destination: {host: a}}]\n    rewrite: {uriRegexRewrite: {match: '/(a)', rewrite: '\\3'}}")).toEqual([
      "GW0106 spec.http[0].rewrite.uriRegexRewrite.rewrite: the substitution uses \\3 but the regex has 1 capture group",
    ]);
  });
});

describe("fields gangway does not act on", () => {
  test("each yields a finding that analyze lists (match statPrefix, L4 subnets)", () => {
    const s = compileYaml(gatewayAndVS({ http: "  - match: [{uri: {prefix: /}, statPrefix: api}]\n    route: [{destination: {host: httpbin}}]" }));
    expect(findingLines(s)).toContain(
      "Warning GW0304 VirtualService/default/vs: statPrefix: gangway keeps no per-route stats prefix; its metrics carry the route name",
    );
    expect(s.findings.find((f) => f.message.includes("statPrefix"))!.field).toBe("spec.http[0].match[0].statPrefix");
  });
});

describe("explain shows the chosen route's policies", () => {
  test("timeout, retries, fault, mirror, CORS; Istio's default retry policy named as such", async () => {
    const { chosenRoute, describePolicies } = await import("../../src/cli/explain-policy.ts");
    const s = compileYaml(
      gatewayAndVS({
        http: `  - match: [{uri: {prefix: /api}}]
    timeout: 3s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "gateway-error,429"}
    fault: {abort: {httpStatus: 503, percentage: {value: 0.5}}}
    mirror: {host: httpbin}
    corsPolicy: {allowOrigins: [{prefix: "https://"}], allowCredentials: true}
    route: [{destination: {host: httpbin}}]
  - route: [{destination: {host: httpbin}}]`,
      }),
    );
    const lines = (path: string) => {
      const t = get(s, "a.com", path);
      return describePolicies(chosenRoute(s, t.routeTable, t.virtualHost, t.routeIndex)!);
    };
    expect(lines("/api/x")).toEqual([
      "timeout:       3000ms (whole response, 504 UT)",
      "retries:       3 retries on gateway-error,429, per try 1000ms, another endpoint each time, back-off 25-250ms",
      "fault:         abort 503 for 0.5%",
      "mirror:        outbound|8000||httpbin.default.svc.cluster.local for 100% (fire-and-forget, Host unchanged)",
      "cors:          origins prefix https://; credentials; other preflights forwarded",
    ]);
    expect(lines("/other")).toEqual([
      "timeout:       none",
      "retries:       2 retries on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes, another endpoint each time, back-off 25-250ms (Istio's default policy)",
    ]);
  });
});

describe("L4 match fields gangway does not apply", () => {
  test("destinationSubnets, sourceSubnet, sourceNamespace, sourceLabels of tcp/tls matches are reported", () => {
    const s = compileYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: l4}
spec:
  hosts: ["*"]
  tcp:
  - match: [{port: 31400, destinationSubnets: [10.0.0.0/8], sourceLabels: {app: x}}]
    route: [{destination: {host: httpbin}}]
`);
    const lines = findingLines(s).filter((l) => l.includes("VirtualService/default/l4"));
    expect(lines).toContain("Warning GW0304 VirtualService/default/l4: destinationSubnets: not applied by gangway: the match ignores it");
    expect(lines).toContain("Warning GW0304 VirtualService/default/l4: sourceLabels: not applied by gangway: the match ignores it");
  });
});

describe("explain (trace) of fault and CORS", () => {
  const s = compileYaml(
    gatewayAndVS({
      http: `  - match: [{uri: {prefix: /always}}]
    fault: {delay: {fixedDelay: 50ms, percentage: {value: 100}}, abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: httpbin}}]
  - match: [{uri: {prefix: /rare}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 0.1}}}
    route: [{destination: {host: httpbin}}]
  - corsPolicy: {allowOrigins: [{exact: "https://a.com"}], allowMethods: [GET]}
    route: [{destination: {host: httpbin}}]`,
    }),
  );
  test("a 100% abort is what happens; a rare one is not (the percentage is in the policy lines)", () => {
    const t = get(s, "x.com", "/always");
    expect([t.outcome, t.status, t.reply, t.reason]).toEqual(["fault_abort", 503, "fault_abort", "route vs.0: its fault aborts with 503 after a fault delay of 50ms"]);
    expect(get(s, "x.com", "/rare").outcome).toBe("forward");
  });
  test("a preflight from an allowed origin is answered by the gateway", () => {
    const t = get(s, "x.com", "/p", { method: "OPTIONS", headers: { origin: "https://a.com", "access-control-request-method": "GET" } });
    expect([t.outcome, t.status, t.reply]).toEqual(["cors_preflight", 200, "cors_preflight"]);
  });
});
