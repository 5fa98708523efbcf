-- Beyond Envoy: the verified SPIFFE ID as streamInfo():peerPrincipal().
-- @tls-peer: spiffe://example.org/ns/prod/sa/billing
-- @expect: continue
-- @expect-upstream-header: x-caller: spiffe://example.org/ns/prod/sa/billing
function envoy_on_request(handle)
  handle:headers():add("x-caller", handle:streamInfo():peerPrincipal())
end
