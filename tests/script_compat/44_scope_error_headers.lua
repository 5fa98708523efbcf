-- A header map kept in a global is dead in the next request.
-- @runs: 2
-- @expect: error
-- @expect-error: object used outside of proper scope
local old_headers
function envoy_on_request(handle)
  if old_headers then old_headers:add("x", "y") end
  old_headers = handle:headers()
end
