// Stable finding codes. Decode codes (GW01xx) are errors that make the whole
// configuration unusable; compile codes (GW02xx–GW05xx) are findings inside the
// snapshot: the object they name is dropped (Error) or served as reported
// (Warning/Info). Never renumber; add new codes at the end of their block.
// (GW0001 is the load stage's "cannot read".)

export const Codes = {
  // ---- load: files and folders (GW0001 is "cannot read") ----------------------
  /** A configuration or secret file above the size limit (8 MiB): not read, the load fails. */
  FileTooLarge: "GW0002",
  /** `--secrets-dir`: a file directly in the folder, not in `DIR/<secret-name>/`: ignored. */
  SecretFileOutsideFolder: "GW0003",

  // ---- decode: the document cannot be used --------------------------------
  /** The text is not YAML/JSON (syntax error, duplicate key, ...). */
  ParseError: "GW0101",
  /** A document is not an object, or has no `kind`/`apiVersion`. */
  NotAnObject: "GW0102",
  /** `metadata.name` missing or not a string. */
  MissingName: "GW0103",
  /** A field has the wrong type (string where a number is needed, ...). */
  WrongType: "GW0104",
  /** A required field is missing or empty. */
  MissingField: "GW0105",
  /** A field has a value outside what the API allows (enum, range, format). */
  InvalidValue: "GW0106",
  /** A regex does not compile (RE2 syntax JavaScript lacks, or invalid). */
  InvalidRegex: "GW0107",
  /** A duration is not like `1.5s`, `500ms`, `1m`. */
  InvalidDuration: "GW0108",
  /** Secret `data` value is not base64. */
  InvalidBase64: "GW0109",
  /** Fields that cannot be used together (route and redirect, ...). */
  Conflict: "GW0110",
  /** (compile, Warning) The same Kind/namespace/name defined twice: the later definition is used. */
  DuplicateResource: "GW0111",
  /** A field the kind's published schema does not have: an Error, as `kubectl apply --validate=strict` rejects it. */
  UnknownField: "GW0112",
  /** (Warning) A kind its API group does not have (misspelt?): the document is skipped. */
  UnknownKind: "GW0113",
  /** (Warning) A kind in an apiVersion its published schema does not serve: the document is skipped. */
  UnknownVersion: "GW0114",
  /** A value the published schema rejects for another reason: pattern, length, bounds, format, item count, one-of. */
  SchemaViolation: "GW0115",
  /** (Warning, or Info where Istio does not apply it to gateways either) A kind of Istio's or the Gateway API's groups that gangway does not read (EnvoyFilter, WasmPlugin, Telemetry, ProxyConfig, UDPRoute, XBackendTrafficPolicy, XListenerSet, Sidecar, ...): skipped, with what it would have done. */
  KindNotRead: "GW0116",

  // ---- gateways, servers, listeners -----------------------------------------
  /** A server's port conflicts with an earlier server: protocols that cannot share a port. */
  PortProtocolConflict: "GW0201",
  /** The same TLS host on one port in two servers: the later server is dropped. */
  DuplicateTLSHost: "GW0202",
  /** The same HTTP host on one port in two Gateways: served merged (Istio's runtime) but ambiguous. */
  ConflictingGateways: "GW0203",
  /** No Gateway applies to this gateway's labels (nothing is listened on). */
  NoGatewayApplies: "GW0204",
  /** A Gateway's selector does not match this gateway's labels: not served here. */
  GatewayNotSelected: "GW0205",
  /** (Warning) A server setting gangway does not act on (bind, defaultEndpoint, TLS settings of a TCP-protocol server). */
  ServerUnsupported: "GW0206",
  /** A PASSTHROUGH or TCP server no VirtualService `tls:`/`tcp:` route applies to: its connections are closed. */
  L4NoRoute: "GW0207",
  /** (Warning) A server TLS setting Istio's validation warns about and ignores (httpsRedirect off HTTP, certificates on PASSTHROUGH, a duplicate cipher, TLS 1.0/1.1 without ciphers). */
  TlsSettingIgnored: "GW0208",

  // ---- virtual services and routes ---------------------------------------------
  /** A VirtualService names a Gateway that does not exist (or does not apply here). */
  GatewayNotFound: "GW0301",
  /** A VirtualService host is served by no server of its gateways (unless it also binds `mesh`), or one of its gateways serves none of its hosts. */
  HostNotServed: "GW0302",
  /** A VirtualService is not visible to the gateway namespace (exportTo). */
  NotExported: "GW0303",
  /** A route field gangway reads but does not act on as written (a retryOn condition it never evaluates, L4 match fields, statPrefix, policies on a route that does not forward, a redirectCode Envoy has no route for). */
  RouteFeatureUnsupported: "GW0304",
  /** Weights of a route's destinations do not add up to 100: used relatively. */
  WeightsNot100: "GW0305",
  /** A VirtualService without gateways binds to the mesh only: not served by a gateway. */
  MeshOnly: "GW0307",
  /** A `tls:` route's SNI name is already routed on that port by an earlier route: this match is skipped. */
  DuplicateSniRoute: "GW0308",
  /** Routes after a route that matches every request, or whose every match an earlier one takes first, can never match (dropped, or never chosen). */
  UnreachableRoute: "GW0309",
  /** An http route delegates to a VirtualService that does not exist (or has hosts): the route is dropped. */
  DelegateNotFound: "GW0315",
  /** The delegate VirtualService's exportTo hides it from the root's namespace: the route is dropped. */
  DelegateNotExported: "GW0316",
  /** A delegate's route whose match is no subset of the root route's: that route is dropped (Istio's conflict). */
  DelegateConflict: "GW0317",
  /** A VirtualService without hosts that no root VirtualService delegates to: it serves nothing. */
  DelegateUnused: "GW0318",
  /** (Error) A served route matches `@request.auth.claims…` but no RequestAuthentication applies to this gateway: no claims are verified, so the match never holds (istioctl's JwtClaimBasedRoutingWithoutRequestAuthN). */
  ClaimRouteWithoutAuthn: "GW0319",
  /** (Info) An http match an earlier match of the VirtualService always takes first (the same, or under its uri prefix): it never applies; its route still does through its other matches (istioctl's VirtualServiceIneffectiveMatch). */
  IneffectiveMatch: "GW0320",

  // ---- destinations, clusters, endpoints ---------------------------------------
  /** Destination host is no Service or ServiceEntry: the cluster has no endpoints (503). */
  DestinationNotFound: "GW0401",
  /** Destination port is not a port of the service. */
  DestinationPortNotFound: "GW0402",
  /** Destination has no port and the service has several. */
  DestinationPortRequired: "GW0403",
  /** Destination subset is not defined in any DestinationRule for the host. */
  SubsetNotFound: "GW0404",
  /** A cluster has no endpoints (no Endpoints/EndpointSlice, none ready, or subset selects none): 503. Also an AUTO_PASSTHROUGH (SNI-DNAT) cluster's plain-text endpoints, left out as istiod does (Info; Warning when none is left). */
  NoEndpoints: "GW0405",
  /** EndpointSlice without the `kubernetes.io/service-name` label, or naming no Service. */
  OrphanEndpoints: "GW0406",
  /** (Warning) A DestinationRule / ServiceEntry setting gangway does not apply (a field it does not read, such as tcp.maxConnectionDuration or tunnel; tls fields with mode DISABLE; resolution NONE), or istiod's auto mTLS to endpoints labelled security.istio.io/tlsMode: istio. */
  PolicyUnsupported: "GW0407",
  /** (Error) A DestinationRule tls credential (credentialName Secret, or a certificate file) is not found: the cluster's requests get 503 (UF). */
  UpstreamCredentialMissing: "GW0408",
  /** (Error) A DestinationRule tls credential does not parse or lacks what the mode needs: the cluster's requests get 503 (UF). */
  UpstreamCredentialInvalid: "GW0409",
  /** (Error) ISTIO_MUTUAL to an upstream without --mesh-certs: the cluster's requests get 503 (UF). */
  UpstreamMeshCertsMissing: "GW0410",
  /** (Warning) loadBalancer.simple PASSTHROUGH (original destination) has no meaning at an ingress: the endpoints are balanced with LEAST_REQUEST. */
  LbPassthroughAtIngress: "GW0411",
  /** (Warning) Locality or node topology gangway does not apply: a Service's internalTrafficPolicy, trafficDistribution (or its annotation). (localityLbSetting itself is applied: compile/cluster-locality.ts.) */
  LocalityLbNotApplied: "GW0412",
  /** (Warning) loadBalancer warmup (warmupDurationSecs / warmup) with RANDOM, PASSTHROUGH or consistentHash, where istiod writes no slow start: not applied. */
  WarmupNotApplied: "GW0413",
  /** (Warning) consistentHash.maglev.tableSize is not a prime (Envoy rejects it): Envoy's default 65537 is used. */
  MaglevTableSizeNotPrime: "GW0414",
  /** (Warning) A cluster setting with no meaning on the route that uses it: DestinationRule tls on a TLS passthrough route, a consistentHash key other than useSourceIp on a TCP route. */
  UpstreamNotServed: "GW0415",
  /** (Info) outlierDetection can never eject: with this many endpoints one ejection exceeds maxEjectionPercent (Envoy's rule). */
  OutlierNeverEjects: "GW0416",
  /** (Warning) A destination without subset to a host another VirtualService routes by subset: those rules do not apply to the gateway's traffic (istioctl's IngressRouteRulesNotAffected). */
  SubsetRoutingBypassed: "GW0417",
  /** (Warning/Info) localityLbSetting applies partly or not at all: failover without outlierDetection (istiod's warning: Envoy never leaves priority 0, so none is applied); distribute leaving endpoints out, or no distribute rule for the gateway's locality. */
  LocalityLbPartial: "GW0418",

  // ---- Ingress -------------------------------------------------------------------
  /** Ingress has no class for us (no istio annotation, class not found or another controller). */
  IngressNotOurs: "GW0501",
  /** Ingress backend names a Service port name that the Service does not have. */
  IngressBackendPort: "GW0502",
  /** Ingress feature gangway does not serve (resource backend, ...). */
  IngressUnsupported: "GW0503",

  // ---- TLS credentials -------------------------------------------------------------
  /** A TLS server's credential (Secret) is not found: its hosts fail the handshake. */
  CredentialMissing: "GW0601",
  /** A credential does not parse or check (not PEM, key mismatch, chain order, no CA for MUTUAL). */
  CredentialInvalid: "GW0602",
  /** A credential is served with a problem (expired, not yet valid). */
  CredentialWarning: "GW0603",
  /** A cipher suite name is not known: dropped from the list. */
  CipherUnknown: "GW0604",
  /** An RSA key above 4096 bits: every full handshake costs its signature on the event loop. */
  KeyTooLarge: "GW0605",

  // ---- load: the folders themselves (image) ------------------------------------------
  /** (Warning) A `--config` folder or file yields no resource gangway reads. */
  ConfigYieldsNothing: "GW0007",
  /** (Warning) A symlink under `--config`/`--secrets-dir` whose target does not exist: skipped. */
  DanglingSymlink: "GW0008",
  /** (Warning) A `--mesh-config` field gangway does not read: it changes nothing here (a command-line option may do what it asks). */
  MeshConfigNotRead: "GW0009",

  // ---- Gateway API (status problems, as findings) ------------------------------------
  /** A Gateway API Gateway names a GatewayClass that is missing (Warning) or another controller's (Info): not served. */
  GatewayClassNotOurs: "GW0801",
  /** A Gateway API Gateway is not among the --gateway ones: not served by this instance. */
  KubeGatewayNotSelected: "GW0802",
  /** A listener is not accepted or not programmed (protocol, TLS mode, route kinds, conflicts): not served. */
  ListenerInvalid: "GW0803",
  /** A listener's certificateRef, or the `tls.frontend` caCertificateRef for its port, is missing, of the wrong kind or content, or not permitted (ReferenceGrant). */
  ListenerCertificateRef: "GW0804",
  /** A route parentRef is not accepted (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname). */
  RouteNotAccepted: "GW0805",
  /** A route backendRef does not resolve (BackendNotFound, RefNotPermitted, InvalidKind): its share answers 500. */
  BackendRefUnresolved: "GW0806",
  /** A Gateway API field gangway does not act on (ExtensionRef/ExternalAuth filters, sessionPersistence, Gateway addresses, TLS options, BackendTLSPolicy options, ...), named in the message. */
  GatewayApiUnsupported: "GW0807",
  /** `--gateway NS/NAME` names no Gateway API Gateway in the configuration. */
  SelectedGatewayMissing: "GW0808",
  /** A Gateway's `addresses`: a type other than Hostname on a Gateway with Services named (UnsupportedAddress; Error when no address is left: not served), a Service named that is missing or lacks a listener's port (AddressNotUsable) or has no external address yet (AddressNotAssigned); Info for a single IPAddress, which istiod asks of the Service it generates. */
  GatewayAddress: "GW0809",
  /** A ListenerSet is not attached: its parentRef names no Gateway served here (Info when the Gateway exists but is not served), or the Gateway's allowedListeners do not admit its namespace (NotAllowed). */
  ListenerSetNotAttached: "GW0815",
  /** (Warning) A TLS Terminate listener already takes a route: its connections follow that one (the oldest), this route's are not served there. */
  TerminateRouteShadowed: "GW0820",
  /** A BackendTLSPolicy target or CA certificate reference does not resolve (Accepted False): an invalid CA reference makes its targets answer 503. */
  BackendTlsPolicyInvalid: "GW0830",
  /** (Warning) An older BackendTLSPolicy names the same target (Accepted False, Conflicted): the older one applies there. */
  BackendTlsPolicyConflicted: "GW0831",
  /** A Gateway's `tls.backend.clientCertificateRef` is not a valid, permitted Secret (ResolvedRefs False): no client certificate is presented to backends. */
  GatewayClientCertificateRef: "GW0832",
  /** (Warning) One Service is reached from Gateways with different backend client certificates: this instance presents the oldest Gateway's. */
  BackendClientCertificateShared: "GW0833",
  // ---- security: RequestAuthentication, AuthorizationPolicy (GW0901–GW0949) --------
  /** (Info) A security policy does not apply to this gateway (selector, namespace or targetRef). */
  SecurityNotApplied: "GW0901",
  /** A security field or kind gangway cannot apply: the traffic it would protect is denied (fail closed). */
  SecurityUnsupported: "GW0902",
  /** A CUSTOM policy names a provider the mesh config does not define or gangway cannot use: requests it matches are denied. */
  ExtAuthzProvider: "GW0903",
  /** CUSTOM policies on this gateway name more than one provider (Istio allows one): every request is denied. */
  ExtAuthzMultipleProviders: "GW0904",
  /** A JWKS key gangway cannot use (kty/alg not supported, malformed): ignored. */
  JwksKeyUnusable: "GW0905",
  /** (Info) PeerAuthentication does not apply to a gateway's listeners (Istio applies it to sidecar inbound traffic). */
  PeerAuthenticationIgnored: "GW0906",
  // ---- access logging: mesh config accessLog*, Telemetry accessLogging (GW0950–GW0969) --------
  /** An access-log format: an operator Envoy does not know (Error: the format is refused), or one gangway cannot produce (Warning: it writes `-`). */
  AccessLogFormat: "GW0950",
  /** A Telemetry `filter.expression` gangway cannot evaluate (Warning) or that is not CEL (Error): not applied, every line is written. */
  AccessLogFilter: "GW0951",
  /** (Info) A Telemetry does not apply to this gateway (selector, namespace, targetRef, `match.mode: SERVER`). */
  TelemetryNotApplied: "GW0952",
  /** (Warning) A Telemetry names an access-log provider the mesh config does not define, or one gangway cannot write to (gRPC, OpenTelemetry): no lines for it. */
  AccessLogProvider: "GW0953",
  /** (Info) An explicit --access-log/--log-format wins over the mesh config's or a Telemetry's destination or encoding. */
  AccessLogFlagWins: "GW0954",
  /** (Info) accessLogFormat/accessLogEncoding without accessLogFile: Istio logs nothing; gangway's default stdout log (--access-log) takes them. */
  AccessLogFormatWithoutFile: "GW0955",
  // ---- tracing: mesh config enableTracing/defaultConfig.tracing, Telemetry tracing (GW0970–GW0989) --------
  /** A tracing provider that is not defined, of a kind gangway cannot serve (datadog, skywalking, ...), or whose collector service is unknown: no tracing, as istiod configures none. */
  TracingProvider: "GW0970",
  /** A tracing field gangway does not apply (a formatter custom tag, resource detectors, a sampler, another bootstrap tracer). */
  TracingFieldNotApplied: "GW0971",
} as const;

export type Code = (typeof Codes)[keyof typeof Codes];
