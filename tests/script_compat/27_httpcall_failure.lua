-- An unreachable service answers like Envoy: 503 "upstream failure".
-- @expect: respond
-- @expect-status: 503
-- @expect-reply-body: upstream failure
function envoy_on_request(handle)
  local headers, body = handle:httpCall("auth", {
    [":method"] = "GET", [":path"] = "/check", [":authority"] = "auth"}, nil, 100)
  handle:respond({[":status"] = headers[":status"]}, body)
end
