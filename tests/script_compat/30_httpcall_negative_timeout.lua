-- A negative timeout is refused.
-- @expect: error
-- @expect-error: http call timeout must be >= 0
function envoy_on_request(handle)
  handle:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, -5)
end
