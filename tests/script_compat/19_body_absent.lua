-- A request without a body: body() is nil, body(true) an empty buffer.
-- @expect: continue
-- @expect-upstream-header: x-body: nil 0
function envoy_on_request(handle)
  local b = handle:body()
  handle:headers():add("x-body", tostring(b) .. " " .. handle:body(true):length())
end
