-- The request's handle used from the response hook.
-- @expect: error
-- @expect-error: object used outside of proper scope
local req
function envoy_on_request(handle) req = handle end
function envoy_on_response(handle) req:logInfo("late") end
