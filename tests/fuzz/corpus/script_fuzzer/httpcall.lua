-- Envoy docs: call an auth service and continue when it allows.
-- @request-header: authorization: Bearer good
-- @http-response: auth 200 ok
-- @http-response-header: auth x-user: ann
-- @expect: continue
-- @expect-http-call: auth /verify
-- @expect-upstream-header: x-user: ann
function envoy_on_request(request_handle)
  local headers, body = request_handle:httpCall(
    "auth",
    {
      [":method"] = "POST",
      [":path"] = "/verify",
      [":authority"] = "auth",
      ["authorization"] = request_handle:headers():get("authorization")
    },
    "",
    5000)
  if headers[":status"] ~= "200" then
    request_handle:respond({[":status"] = "401"}, "unauthorized")
  end
  request_handle:headers():add("x-user", headers["x-user"])
end
