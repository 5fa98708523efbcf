-- Strip an internal header before it reaches the upstream.
-- @request-header: x-internal-token: secret
-- @expect: continue
-- @expect-upstream-header-absent: x-internal-token
function envoy_on_request(handle)
  handle:headers():remove("x-internal-token")
end
