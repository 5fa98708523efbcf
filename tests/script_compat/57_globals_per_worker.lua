-- Globals set at load time persist across requests in one worker (Envoy's model).
-- @runs: 3
-- @expect: continue
-- @expect-upstream-header: x-count: 3
count = 0
function envoy_on_request(handle)
  count = count + 1
  handle:headers():add("x-count", tostring(count))
end
