-- Rewrite :path to version the API.
-- @request: GET /users/1
-- @expect: continue
-- @expect-upstream-header: :path: /v2/users/1
function envoy_on_request(handle)
  local path = handle:headers():get(":path")
  handle:headers():replace(":path", "/v2" .. path)
end
