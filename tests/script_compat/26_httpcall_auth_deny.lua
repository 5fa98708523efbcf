-- The auth service refuses: answer 401 with its reason.
-- @http-response: auth 403 token expired
-- @expect: respond
-- @expect-status: 401
-- @expect-reply-body: token expired
function envoy_on_request(handle)
  local headers, body = handle:httpCall("auth", {
    [":method"] = "GET", [":path"] = "/check", [":authority"] = "auth"}, nil, 1000)
  if headers[":status"] ~= "200" then
    handle:respond({[":status"] = "401"}, body)
  end
end
