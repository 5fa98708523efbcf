-- :path, :method and :authority are required.
-- @expect: error
-- @expect-error: http call headers must include ':path', ':method', and ':authority'
function envoy_on_request(handle)
  handle:httpCall("auth", {[":path"] = "/"}, nil, 100)
end
