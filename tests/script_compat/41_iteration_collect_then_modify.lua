-- The documented way: collect first, modify after the loop.
-- @request-header: x-debug-a: 1
-- @request-header: x-debug-b: 2
-- @expect: continue
-- @expect-upstream-header-absent: x-debug-a
-- @expect-upstream-header-absent: x-debug-b
function envoy_on_request(handle)
  local doomed = {}
  for key, _ in pairs(handle:headers()) do
    if string.find(key, "^x%-debug%-") then doomed[#doomed + 1] = key end
  end
  for _, key in ipairs(doomed) do handle:headers():remove(key) end
end
