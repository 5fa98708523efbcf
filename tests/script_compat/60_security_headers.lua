-- Add security headers to every response.
-- @expect: continue
-- @expect-client-header: strict-transport-security: max-age=31536000
-- @expect-client-header: x-content-type-options: nosniff
function envoy_on_response(handle)
  local h = handle:headers()
  h:replace("strict-transport-security", "max-age=31536000")
  h:replace("x-content-type-options", "nosniff")
  h:remove("server")
end
