-- Envoy docs: block a request with a local reply.
-- @request-header: x-block: 1
-- @expect: respond
-- @expect-status: 403
-- @expect-reply-body: blocked
-- @expect-reply-header: content-type: text/plain
function envoy_on_request(request_handle)
  if request_handle:headers():get("x-block") then
    request_handle:respond({[":status"] = "403", ["content-type"] = "text/plain"}, "blocked")
  end
end
