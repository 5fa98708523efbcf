-- Calling a Service that is not configured.
-- @expect: error
-- @expect-status: 500
-- @expect-error: http call cluster invalid. Must be configured
function envoy_on_request(handle)
  handle:httpCall("no_such_service", {
    [":method"] = "GET", [":path"] = "/", [":authority"] = "x"}, nil, 100)
end
