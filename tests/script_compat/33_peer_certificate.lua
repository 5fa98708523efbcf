-- Envoy docs: read the client certificate of a mutual TLS connection.
-- @tls-peer: spiffe://example.org/ns/prod/sa/web
-- @tls-subject: CN=web,O=example
-- @tls-digest: 9f86d081884c7d659a2feaa0c55ad015
-- @expect: continue
-- @expect-upstream-header: x-client-subject: CN=web,O=example
-- @expect-upstream-header: x-client-uri: spiffe://example.org/ns/prod/sa/web
-- @expect-upstream-header: x-client-digest: 9f86d081884c7d659a2feaa0c55ad015
function envoy_on_request(handle)
  local ssl = handle:streamInfo():downstreamSslConnection()
  if ssl and ssl:peerCertificatePresented() then
    handle:headers():add("x-client-subject", ssl:subjectPeerCertificate())
    handle:headers():add("x-client-uri", ssl:uriSanPeerCertificate()[1])
    handle:headers():add("x-client-digest", ssl:sha256PeerCertificateDigest())
  end
end
