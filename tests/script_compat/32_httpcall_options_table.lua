-- The options-table form of httpCall.
-- @http-response: auth 200 fine
-- @expect: continue
-- @expect-upstream-header: x-auth-body: fine
function envoy_on_request(handle)
  local headers, body = handle:httpCall("auth",
    {[":method"] = "GET", [":path"] = "/ping", [":authority"] = "auth"}, nil,
    {timeout_ms = 250, send_xff = false})
  handle:headers():add("x-auth-body", body)
end
