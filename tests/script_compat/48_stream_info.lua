-- Addresses, protocol and SNI from streamInfo().
-- @sni: shop.example.com
-- @expect: continue
-- @expect-upstream-header: x-sni: shop.example.com
-- @expect-upstream-header: x-proto: HTTP/1.1
-- @expect-upstream-header: x-peer: 192.0.2.7:51000
function envoy_on_request(handle)
  local si = handle:streamInfo()
  handle:headers():add("x-sni", si:requestedServerName())
  handle:headers():add("x-proto", si:protocol())
  handle:headers():add("x-peer", si:downstreamDirectRemoteAddress())
end
