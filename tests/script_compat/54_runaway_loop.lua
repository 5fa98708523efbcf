-- while true do end is stopped by the instruction budget.
-- @expect: error
-- @expect-status: 500
-- @expect-error: instruction budget exceeded
function envoy_on_request(handle)
  while true do end
end
