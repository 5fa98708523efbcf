-- Answer CORS preflights locally.
-- @request: OPTIONS /api
-- @request-header: origin: https://app.example.com
-- @expect: respond
-- @expect-status: 204
-- @expect-reply-header: access-control-allow-origin: https://app.example.com
function envoy_on_request(handle)
  local h = handle:headers()
  if h:get(":method") == "OPTIONS" and h:get("origin") then
    handle:respond({[":status"] = "204",
      ["access-control-allow-origin"] = h:get("origin"),
      ["access-control-allow-methods"] = "GET, POST"})
  end
end
