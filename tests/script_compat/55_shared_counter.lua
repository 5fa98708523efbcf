-- Beyond Envoy: a counter shared by all workers.
-- @runs: 3
-- @expect: continue
-- @expect-upstream-header: x-request-number: 3
function envoy_on_request(handle)
  local n = gatehouse.shared:incr("compat-55-requests", 1, 0)
  handle:headers():add("x-request-number", string.format("%d", n))
end
