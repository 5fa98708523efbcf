-- base64Escape to build a Basic credential for the upstream.
-- @expect: continue
-- @expect-upstream-header: authorization: Basic dXNlcjpwYXNz
function envoy_on_request(handle)
  handle:headers():replace("authorization", "Basic " .. handle:base64Escape("user:pass"))
end
